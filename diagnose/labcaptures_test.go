package diagnose_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/lab"
	"github.com/rstscope/rstscope/report"
)

// TestLabCaptures is the golden test of the classifier: every committed lab
// capture (made by the real kernel in network namespaces, see
// testdata/lab/README.md) is analysed, and every reset must get the cause and
// the sender the scenario knows are right — from the client-side and the
// server-side capture alike. Where the scenario records that the wire cannot
// tell its cause apart (a host's own reject rule builds the kernel's very
// reset), the cause a capture can show is expected instead. A run listed
// in lab.AnalyzeGap must get exactly the wrong cause recorded there, and
// fails the test once it is right (the entry then goes).
func TestLabCaptures(t *testing.T) {
	root := filepath.Join(testutil.ModuleRoot(t), "testdata", "lab")
	expFiles, _ := filepath.Glob(filepath.Join(root, "*", "*.expected.json"))
	if len(expFiles) == 0 {
		t.Fatalf("no lab captures under %s: regenerate them with rstscope lab run (see its README)", root)
	}
	sort.Strings(expFiles)
	var total, right, gaps int
	var table strings.Builder
	for _, ef := range expFiles {
		pcap := strings.TrimSuffix(ef, ".expected.json") + ".pcap"
		name, _ := filepath.Rel(root, pcap)
		t.Run(name, func(t *testing.T) {
			want, err := lab.ReadExpected(ef)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(pcap); err != nil {
				t.Fatalf("expected verdicts without a capture: %v", err)
			}
			got := map[uint64]report.Finding{}
			opts := diagnose.DefaultOptions
			opts.OnFinding = func(f report.Finding) { got[f.Frame] = f }
			if _, err := diagnose.ReadFile(pcap, opts); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("got %d resets, want %d", len(got), len(want))
			}
			gap, inGap := lab.AnalyzeGap(filepath.Dir(name))
			for _, w := range want {
				total++
				f, ok := got[w.Frame]
				switch {
				case !ok:
					t.Errorf("frame %d: no finding, want %s by %s", w.Frame, w.Cause, w.Sender)
				case inGap && f.Cause == gap.Got && f.Sender == w.Sender:
					gaps++
					t.Logf("frame %d: %s by %s, want %s: a known gap (lab.AnalyzeGap): %s", w.Frame, f.Cause, f.Sender, w.CaptureCause(), gap.Why)
				case f.Cause != w.CaptureCause() || f.Sender != w.Sender:
					t.Errorf("frame %d (%s): got %s by %s, want %s by %s; evidence: %s", w.Frame, f.From, f.Cause, f.Sender, w.CaptureCause(), w.Sender, strings.Join(f.Evidence, "; "))
				default:
					right++
					if inGap {
						t.Errorf("frame %d: now %s by %s as expected: remove %s from lab's gaps", w.Frame, f.Cause, f.Sender, filepath.Dir(name))
					}
				}
				fmt.Fprintf(&table, "%-50s %5d  %-24s %-10s %-24s %-10s\n", name, w.Frame, w.CaptureCause(), w.Sender, f.Cause, f.Sender)
			}
		})
	}
	t.Logf("\n%-50s %5s  %-24s %-10s %-24s %-10s\n%s", "capture", "frame", "expected", "sender", "analyze", "sender", table.String())
	t.Logf("lab captures: %d of %d resets classified as expected, %d more a known gap", right, total, gaps)
}
