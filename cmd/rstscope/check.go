package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/host"
)

func init() { register(newCheckCmd) }

func newCheckCmd() *cobra.Command {
	var (
		interval     time.Duration
		format, root string
	)
	c := &cobra.Command{
		Use:   "check [--interval D] [--format text|json] [--root DIR]",
		Short: "audit this host for settings, rules and state that reset connections",
		Long: `Audits TCP sysctls, reset counters, listen queues, firewall reject rules,
conntrack limits and duplicate addresses. Works without root; lists what it could
not read.`,
		Example: `  rstscope check
  rstscope check --interval 10s            # reset counters as rates over 10 s
  rstscope check -f json | jq '.findings[] | select(.severity == "critical")'
  rstscope check --root /srv/host-copy     # /proc and /sys copied from another host`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("check takes no arguments, got %q", args[0])
			}
			return runCheck(cmd.Context(), interval, format, root, cmd.OutOrStdout())
		},
	}
	fs := c.Flags()
	fs.DurationVar(&interval, "interval", 0, "sample the reset counters twice, this far apart, and report their rates")
	fs.StringVarP(&format, "format", "f", "text", "output format: text or json")
	fs.StringVar(&root, "root", "/", "read /proc and /sys under this `DIR` (a copy from another host, a fixture)")
	c.RegisterFlagCompletionFunc("format", fixedCompletions("text", "json"))
	c.MarkFlagDirname("root")
	return c
}

func runCheck(ctx context.Context, interval time.Duration, format, root string, stdout io.Writer) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("unknown format %q (want text or json)", format)
	}
	if interval < 0 {
		return fmt.Errorf("negative interval %s", interval)
	}
	rep, err := host.Check(ctx, host.Options{Root: host.Root(root), Interval: interval})
	if err != nil {
		return fmt.Errorf("checking host: %w", err)
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeCheckText(stdout, rep)
}

// writeCheckText prints critical and warning findings in full, most severe
// first, then the info findings one line each, then what was unreadable.
func writeCheckText(w io.Writer, rep *host.Report) error {
	var b strings.Builder
	n := map[host.Severity]int{}
	for _, f := range rep.Findings {
		n[f.Severity]++
	}
	fmt.Fprintf(&b, "rstscope check: %d critical, %d warning, %d info; %d sources unreadable\n",
		n[host.Critical], n[host.Warning], n[host.Info], len(rep.Unreadable))
	for _, sev := range []host.Severity{host.Critical, host.Warning} {
		for _, f := range rep.Findings {
			if f.Severity != sev {
				continue
			}
			fmt.Fprintf(&b, "\n%-8s %s  [%s]\n  %s\n", strings.ToUpper(sev.String()), f.ID, f.Cause, f.Summary)
			for _, e := range f.Evidence {
				fmt.Fprintf(&b, "  evidence: %s\n", e)
			}
			for _, a := range f.Advice {
				fmt.Fprintf(&b, "  advice:   %s\n", a)
			}
		}
	}
	if n[host.Info] > 0 {
		b.WriteString("\nINFO\n")
		width := 0
		for _, f := range rep.Findings {
			if f.Severity == host.Info {
				width = max(width, len(f.ID))
			}
		}
		for _, f := range rep.Findings {
			if f.Severity == host.Info {
				fmt.Fprintf(&b, "  %-*s  %s\n", width, f.ID, f.Summary)
			}
		}
	}
	if len(rep.Unreadable) > 0 {
		b.WriteString("\nUNREADABLE\n")
		for _, u := range rep.Unreadable {
			fmt.Fprintf(&b, "  %s (%s): %s\n", u.What, u.Path, u.Error)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
