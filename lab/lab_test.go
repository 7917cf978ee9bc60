//go:build linux

package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// analyzeBoth runs analyze over a run's two captures and checks every
// reset's verdict against the scenario's; it returns the distinct verdicts.
func analyzeBoth(t *testing.T, dir string, res Result) string {
	t.Helper()
	seen := map[string]bool{}
	for _, side := range []struct {
		pcap string
		want []Expected
	}{{ClientPcap, res.Client}, {ServerPcap, res.Server}} {
		got := map[uint64]report.Finding{}
		opts := diagnose.DefaultOptions
		opts.OnFinding = func(f report.Finding) { got[f.Frame] = f }
		if _, err := diagnose.ReadFile(filepath.Join(dir, side.pcap), opts); err != nil {
			t.Fatalf("analyze %s: %v", side.pcap, err)
		}
		if len(got) != len(side.want) {
			t.Errorf("analyze %s: got %d resets, want %d", side.pcap, len(got), len(side.want))
		}
		for _, w := range side.want {
			f, ok := got[w.Frame]
			if !ok {
				t.Errorf("analyze %s frame %d: no finding", side.pcap, w.Frame)
				continue
			}
			seen[fmt.Sprintf("%s/%s", f.Cause, f.Sender)] = true
			gap, inGap := AnalyzeGap(res.Scenario)
			switch {
			case inGap && f.Cause == w.CaptureCause() && f.Sender == w.Sender:
				t.Errorf("analyze %s frame %d: now %s by %s as expected: remove %s from the gaps", side.pcap, w.Frame, f.Cause, f.Sender, res.Scenario)
			case inGap && f.Cause == gap.Got && f.Sender == w.Sender:
				t.Logf("analyze %s frame %d: %s by %s, want %s: a known gap: %s", side.pcap, w.Frame, f.Cause, f.Sender, w.CaptureCause(), gap.Why)
			case f.Cause != w.CaptureCause() || f.Sender != w.Sender:
				t.Errorf("analyze %s frame %d: got %s by %s, want %s by %s; evidence: %s",
					side.pcap, w.Frame, f.Cause, f.Sender, w.CaptureCause(), w.Sender, strings.Join(f.Evidence, "; "))
			}
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, " ")
}

// TestScenarios runs every scenario over every family it supports with the
// real kernel and checks what Run checks: the resets on the wire and the
// kernel's own account. Then, end to end, it runs analyze over both fresh
// captures and wants every reset's cause and sender to be the expected ones.
// With -update it rewrites testdata/lab/; with RSTLAB_OUT=DIR it keeps each
// run's files under DIR.
func TestScenarios(t *testing.T) {
	testutil.RequireRoot(t)
	var table strings.Builder
	fmt.Fprintf(&table, "%-38s %-7s %-18s %-40s %-40s %-30s %s\n", "scenario", "family", "resets (cli/srv)", "expected (wire) / sender", "analyze", "kernel", "seconds")
	defer func() { t.Logf("\n%s", table.String()) }()
	for _, s := range Scenarios() {
		for _, f := range s.Families() {
			t.Run(s.DirName(f), func(t *testing.T) {
				dir := t.TempDir()
				if out := os.Getenv("RSTLAB_OUT"); out != "" {
					dir = filepath.Join(out, s.DirName(f)) // keep the files to look at
				}
				if *testutil.Update {
					dir = filepath.Join(testutil.ModuleRoot(t), "testdata", "lab", s.DirName(f))
				}
				res, err := Run(context.Background(), s, f, dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, side := range []struct {
					file string
					want []Expected
				}{{ClientExpected, res.Client}, {ServerExpected, res.Server}} {
					got, err := ReadExpected(filepath.Join(dir, side.file))
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != len(side.want) {
						t.Errorf("%s: got %d verdicts, want %d", side.file, len(got), len(side.want))
					}
				}
				verdicts := analyzeBoth(t, dir, res)
				want := "-"
				if len(res.Client)+len(res.Server) > 0 {
					x := append(append([]Expected{}, res.Client...), res.Server...)[0]
					want = fmt.Sprintf("%s/%s", x.CaptureCause(), x.Sender)
				}
				fmt.Fprintf(&table, "%-38s ipv%-4d %-18s %-40s %-40s %-30s %.1f\n", s.ID(), f,
					fmt.Sprintf("%d/%d", len(res.Client), len(res.Server)), want, verdicts, strings.Join(res.Kernel.Reasons, ","), res.Elapsed.Seconds())
				t.Logf("%d+%d resets, kernel %v, %.1fs", len(res.Client), len(res.Server), res.Kernel.Reasons, res.Elapsed.Seconds())
			})
		}
	}
}

// TestRunCancelled cancels a run midway and checks it leaves nothing
// behind: no namespace, no trace instance.
func TestRunCancelled(t *testing.T) {
	testutil.RequireRoot(t)
	s := Lookup("idle-timeout-conntrack")[0]
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := Run(ctx, s, 4, t.TempDir(), nil); err == nil {
		t.Fatal("got no error from a cancelled run")
	}
	prefix := fmt.Sprintf("rstlab-%d-", os.Getpid())
	for _, glob := range []string{"/run/netns/" + prefix + "*", tracefsRoot + "/instances/" + prefix + "*"} {
		if left, _ := filepath.Glob(glob); len(left) > 0 {
			t.Errorf("left behind after cancel: %v", left)
		}
	}
}
