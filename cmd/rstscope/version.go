package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, the VCS revision it was built from, and the Go toolchain",
		Long: `Prints the module version (set by go install module@version), the VCS revision and
commit time the binary was built from, whether the tree had uncommitted changes,
and the Go toolchain and platform. All of it comes from the build information Go
embeds in the binary (runtime/debug.ReadBuildInfo).`,
		Example: `  rstscope version`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			return writeVersion(cmd.OutOrStdout(), bi)
		},
	}
}

// version is the module version for --version: "devel" for a build from a
// checkout, which has no module version.
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return moduleVersion(bi)
}

func moduleVersion(bi *debug.BuildInfo) string {
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// writeVersion writes the version command's output:
//
//	rstscope v0.4.0
//	revision 3f2c1a9e… (2026-11-30T05:12:44Z, modified)
//	go1.26.8 linux/amd64
func writeVersion(w io.Writer, bi *debug.BuildInfo) error {
	var b strings.Builder
	fmt.Fprintf(&b, "rstscope %s\n", moduleVersion(bi))
	settings := map[string]string{}
	if bi != nil {
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	if rev := settings["vcs.revision"]; rev != "" {
		var notes []string
		if t := settings["vcs.time"]; t != "" {
			notes = append(notes, t)
		}
		if settings["vcs.modified"] == "true" {
			notes = append(notes, "modified")
		}
		fmt.Fprintf(&b, "revision %s", rev)
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
		b.WriteByte('\n')
	} else {
		b.WriteString("revision unknown (built without VCS information)\n")
	}
	goVersion := runtime.Version()
	if bi != nil && bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(&b, "%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	_, err := io.WriteString(w, b.String())
	return err
}
