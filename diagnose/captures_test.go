package diagnose_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/lab"
	"github.com/rstscope/rstscope/report"
)

// TestJoinLabCaptures analyses every committed lab run's two captures
// together, as `rstscope analyze client.pcap server.pcap` does: each reset
// must come out as one finding, listing the captures that saw it: both for
// a reset an endpoint sent (the scenario lists it in both captures), only
// the receiving side for one a device between them made. The NAT variants
// rewrite the client's address and port between the two.
// The verdicts are logged against the cause a capture can show (the
// scenario's wire cause where the wire cannot tell).
func TestJoinLabCaptures(t *testing.T) {
	root := filepath.Join(testutil.ModuleRoot(t), "testdata", "lab")
	dirs, _ := filepath.Glob(filepath.Join(root, "*-ipv[46]"))
	if len(dirs) == 0 {
		t.Fatalf("no lab captures under %s", root)
	}
	var resets, two, one, right, gaps int
	var table strings.Builder
	for _, d := range dirs {
		t.Run(filepath.Base(d), func(t *testing.T) {
			files := []string{filepath.Join(d, lab.ClientPcap), filepath.Join(d, lab.ServerPcap)}
			var want [2][]lab.Expected
			for i, f := range []string{lab.ClientExpected, lab.ServerExpected} {
				w, err := lab.ReadExpected(filepath.Join(d, f))
				if err != nil {
					t.Fatal(err)
				}
				want[i] = w
			}
			var mu sync.Mutex
			got := map[string]report.Finding{} // by file and frame of every sighting
			var n int
			opts := diagnose.DefaultOptions
			opts.OnFinding = func(f report.Finding) {
				mu.Lock()
				defer mu.Unlock()
				n++
				if len(f.Sightings) == 0 {
					t.Errorf("%s frame %d: a finding without sightings", f.File, f.Frame)
				}
				for _, s := range f.Sightings {
					got[fmt.Sprintf("%s#%d", s.File, s.Frame)] = f
				}
			}
			opts, done := diagnose.JoinCaptures(context.Background(), files, opts)
			for _, f := range files {
				if _, err := diagnose.ReadFile(f, opts); err != nil {
					t.Fatal(err)
				}
			}
			done()
			distinct := len(want[0]) + len(want[1])
			for _, x := range want[0] {
				for _, y := range want[1] {
					if endpoint(x.Sender) && x.Sender == y.Sender && x.Cause == y.Cause && serverEnd(x) == serverEnd(y) {
						distinct--
					}
				}
			}
			if n != distinct {
				t.Errorf("got %d findings, want %d (one per reset)", n, distinct)
			}
			for i := range 2 {
				for _, x := range want[i] {
					f, ok := got[fmt.Sprintf("%s#%d", files[i], x.Frame)]
					if !ok {
						t.Errorf("%s frame %d: no finding lists it", files[i], x.Frame)
						continue
					}
					if i == 1 && len(f.Sightings) == 2 {
						continue // counted from the client side
					}
					resets++
					wantN := 1
					if endpoint(x.Sender) {
						wantN = 2
					}
					if len(f.Sightings) != wantN {
						t.Errorf("%s frame %d (%s by %s): got %d sightings, want %d", files[i], x.Frame, x.Cause, x.Sender, len(f.Sightings), wantN)
					}
					if len(f.Sightings) == 2 {
						two++
					} else {
						one++
					}
					ok = f.Cause == x.CaptureCause() && f.Sender == x.Sender
					switch gap, inGap := lab.AnalyzeGap(filepath.Base(d)); {
					case ok && inGap:
						t.Errorf("%s frame %d: now %s by %s as expected: remove %s from lab's gaps", files[i], x.Frame, f.Cause, f.Sender, filepath.Base(d))
					case ok:
						right++
					case inGap && f.Cause == gap.Got && f.Sender == x.Sender:
						gaps++
						t.Logf("%s frame %d: %s by %s, want %s: a known gap (lab.AnalyzeGap): %s", files[i], x.Frame, f.Cause, f.Sender, x.CaptureCause(), gap.Why)
					}
					fmt.Fprintf(&table, "%-42s %-24s %-10s %d  %-24s %-10s %v\n", filepath.Base(d), x.CaptureCause(), x.Sender, len(f.Sightings), f.Cause, f.Sender, ok)
				}
			}
		})
	}
	t.Logf("\n%-42s %-24s %-10s %s  %-24s %-10s\n%s", "run", "expected", "sender", "n", "joined verdict", "sender", table.String())
	t.Logf("lab, two captures joined: %d resets, %d seen in both, %d in one only; %d with the scenario's own cause and sender, %d more a known gap (lab.AnalyzeGap)", resets, two, one, right, gaps)
	// Joined, the two capture points settle what one capture cannot: every
	// reset must get the scenario's own cause and sender (the lab's expected
	// files, written from what each scenario made happen), but for the
	// known gaps, which must get exactly the cause recorded there.
	if right+gaps != resets {
		t.Errorf("%d of %d joined resets have the scenario's cause and sender (and %d a known gap), want all", right, resets, gaps)
	}
}

func endpoint(s cause.Sender) bool { return s == cause.Client || s == cause.Server }

// serverEnd is the server's address and port of an endpoint's reset: the
// lab never rewrites it, while its NAT variants rewrite the client's.
func serverEnd(x lab.Expected) string {
	if x.Sender == cause.Server {
		return x.From
	}
	return x.To
}
