package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rstscope/rstscope/lab"
)

func init() {
	register(command{name: "lab", summary: "reproduce each reset cause with the real kernel (root)", run: runLab})
}

func runLab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: rstscope lab list\n       rstscope lab run [-o DIR] [--family 4|6|both] SCENARIO...|all")
		if len(args) == 0 {
			return errors.New("lab: no action given (list or run)")
		}
		return nil
	}
	switch args[0] {
	case "list":
		return labList(stdout)
	case "run":
		return labRun(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("lab: unknown action %q (want list or run)", args[0])
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

func labRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "rstlab-out", "directory for the captures; each run writes `DIR`/<scenario>-ipv4|ipv6/")
	family := fs.String("family", "both", "IP version: 4, 6 or both")
	// Flags may come before, between or after the scenario names.
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names, args = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	var fams []int
	switch *family {
	case "4":
		fams = []int{4}
	case "6":
		fams = []int{6}
	case "both":
		fams = []int{4, 6}
	default:
		return fmt.Errorf("lab run: --family %q: want 4, 6 or both", *family)
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
			res, err := lab.Run(ctx, s, f, filepath.Join(*out, s.DirName(f)), stderr)
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
