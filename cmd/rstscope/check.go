package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rstscope/rstscope/host"
)

func init() {
	register(command{
		name:    "check",
		summary: "audit this host for settings, rules and state that reset connections",
		run:     runCheck,
	})
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	interval := fs.Duration("interval", 0, "sample the reset counters twice, this far apart, and report their rates")
	format := fs.String("format", "text", "output format: text or json")
	root := fs.String("root", "/", "read /proc and /sys under this directory (a copy from another host, a fixture)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rstscope check [--interval D] [--format text|json] [--root DIR]")
		fmt.Fprintln(stderr, "\nAudits TCP sysctls, reset counters, listen queues, firewall reject rules,")
		fmt.Fprintln(stderr, "conntrack limits and duplicate addresses. Works without root; lists what it could not read.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("check takes no arguments, got %q", fs.Arg(0))
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("unknown format %q (want text or json)", *format)
	}
	if *interval < 0 {
		return fmt.Errorf("negative interval %s", *interval)
	}
	rep, err := host.Check(ctx, host.Options{Root: host.Root(*root), Interval: *interval})
	if err != nil {
		return fmt.Errorf("checking host: %w", err)
	}
	if *format == "json" {
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
