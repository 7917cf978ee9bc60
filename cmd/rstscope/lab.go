package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/lab"
)

func init() { register(newLabCmd) }

func newLabCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "lab list | lab run [-o DIR] [--family 4|6|both] SCENARIO...|all",
		Short: "reproduce each reset cause with the real kernel (root)",
		Long: `Makes each cause of the vocabulary happen with real sockets in throwaway network
namespaces, captures both ends, and checks that analyze names the expected cause.
Needs root (network namespaces).`,
		Example: `  rstscope lab list
  sudo rstscope lab run closed-port
  sudo rstscope lab run --family 4 -o /tmp/lab all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("lab: no action given (list or run)")
			}
			return fmt.Errorf("lab: unknown action %q (want list or run)", args[0])
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "list the scenarios, the cause each yields and the IP versions it runs on",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return labList(cmd.OutOrStdout()) },
	}
	var out, family string
	runCmd := &cobra.Command{
		Use:   "run [-o DIR] [--family 4|6|both] SCENARIO...|all",
		Short: "run scenarios and check each yields its cause (root)",
		Example: `  sudo rstscope lab run closed-port half-open
  sudo rstscope lab run all -o /tmp/lab --family 6`,
		RunE: func(cmd *cobra.Command, names []string) error {
			return labRun(cmd.Context(), names, out, family, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			names := []cobra.Completion{"all"}
			for _, s := range lab.Scenarios() {
				names = append(names, cobra.CompletionWithDesc(s.ID(), s.Summary))
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
	runCmd.Flags().StringVarP(&out, "output", "o", "rstlab-out", "directory for the captures; each run writes `DIR`/<scenario>-ipv4|ipv6/")
	runCmd.Flags().StringVar(&family, "family", "both", "IP version: 4, 6 or both")
	runCmd.RegisterFlagCompletionFunc("family", fixedCompletions("4", "6", "both"))
	runCmd.MarkFlagDirname("output")
	c.AddCommand(list, runCmd)
	return c
}

func labList(stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tCAUSE\tFAMILIES\tWHAT HAPPENS")
	for _, s := range lab.Scenarios() {
		c := string(s.Cause)
		if c == "" {
			c = "-"
		}
		fam := strings.Trim(strings.ReplaceAll(fmt.Sprint(s.Families()), " ", ","), "[]")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID(), c, fam, s.Summary)
	}
	return tw.Flush()
}

func labRun(ctx context.Context, names []string, out, family string, stdout, stderr io.Writer) error {
	var fams []int
	switch family {
	case "4":
		fams = []int{4}
	case "6":
		fams = []int{6}
	case "both":
		fams = []int{4, 6}
	default:
		return fmt.Errorf("lab run: --family %q: want 4, 6 or both", family)
	}
	var scenarios []lab.Scenario
	for _, name := range names {
		if name == "all" {
			scenarios = append(scenarios, lab.Scenarios()...)
			continue
		}
		found := lab.Lookup(name)
		if len(found) == 0 {
			return fmt.Errorf("lab run: unknown scenario %q (see rstscope lab list)", name)
		}
		scenarios = append(scenarios, found...)
	}
	if len(scenarios) == 0 {
		return errors.New("lab run: no scenario given (see rstscope lab list)")
	}
	start := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tFAMILY\tRESETS (client/server pcap)\tEXPECTED\tKERNEL\tSECONDS\tRESULT")
	failed := 0
	for _, s := range scenarios {
		for _, f := range fams {
			if !contains(s.Families(), f) {
				continue
			}
			res, err := lab.Run(ctx, s, f, filepath.Join(out, s.DirName(f)), stderr)
			if errors.Is(err, lab.ErrNeedsRoot) || errors.Is(err, lab.ErrUnsupported) {
				return fmt.Errorf("lab run: %w", err)
			}
			status := "ok"
			if err != nil {
				failed++
				status = "FAIL: " + err.Error()
			}
			fmt.Fprintf(tw, "%s\tipv%d\t%d/%d\t%s\t%s\t%.1f\t%s\n", s.ID(), f, len(res.Client), len(res.Server),
				verdicts(res), strings.Join(res.Kernel.Reasons, ","), res.Elapsed.Seconds(), status)
			if ctx.Err() != nil {
				tw.Flush()
				return fmt.Errorf("lab run: %w", ctx.Err())
			}
		}
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t%.1f\t\n", time.Since(start).Seconds())
	tw.Flush()
	if failed > 0 {
		return fmt.Errorf("lab run: %d run(s) failed", failed)
	}
	return nil
}

// verdicts lists the distinct cause/sender pairs of a run's resets.
func verdicts(r lab.Result) string {
	var out []string
	seen := map[string]bool{}
	for _, e := range append(append([]lab.Expected(nil), r.Client...), r.Server...) {
		k := fmt.Sprintf("%s/%s", e.Cause, e.Sender)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
