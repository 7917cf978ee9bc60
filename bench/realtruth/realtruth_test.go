package realtruth

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/bench/truth"
	"github.com/rstscope/rstscope/internal/testutil"
)

// testKinds are the subset the root test runs: the kinds whose resets come
// every run (each of the kernel reasons the full set yields, on all three
// servers), at testScale: 1 215 connections, 13–15 s here (with the build).
var testKinds = []string{
	"nginx-client-abort-mid-response", "nginx-413-lingering-off", "nginx-keepalive-timeout-race",
	"nginx-send-timeout-reset", "haproxy-client-timeout", "haproxy-silent-drop", "haproxy-tcp-reject",
	"redis-client-kill-idle", "redis-client-kill-busy", "redis-maxclients", "redis-big-reply-abort",
	"redis-restart-queued", "redis-timeout-idle", "curl-limit-rate-timeout", "haproxy-deny-nolinger",
	"haproxy-nolinger",
}

const testScale = 60

// Floors, each the lowest of the runs measured (sudo go test -count=1 -run
// TestRealSoftware -v ./bench/realtruth, on this 2-core machine shared with
// other agents; the figure beside each) less a margin for run-to-run
// variation: the servers' timers race the clients under load, and which way
// decides the kernel's reason. Raise them as cause/ improves.
const (
	minConnShareRight = 0.90 // measured 0.960 after the rule fixes of 5df0729 (0.855–0.876 before)
	minResetRight     = 0.90 // measured 0.967 (0.880–0.904 before)
	minSenderRight    = 0.98 // measured 1.000
	minEventMatch     = 0.99 // measured 1.000; a miss is a harness fault, not a rule's
	minConnsScored    = 900  // measured 1 122–1 178
)

// kindFloors are per-kind floors (share of the kind's connections whose
// first reset analyze names right) for the kinds analyze gets right today,
// so a rule change that breaks one real-software behaviour shows by name.
var kindFloors = map[string]float64{
	"nginx-client-abort-mid-response": 0.95, // measured 1.000 in all three
	"redis-big-reply-abort":           0.90, // measured 0.967–0.989
	"redis-client-kill-idle":          0.95, // measured 1.000 in all three
	"redis-restart-queued":            0.90, // measured 0.958–0.967
	"haproxy-silent-drop":             0.95, // measured 1.000 in all three
	"haproxy-client-timeout":          0.95, // measured 1.000 in all three
	"curl-limit-rate-timeout":         0.88, // measured 0.946–1.000
	"redis-timeout-idle":              0.95, // measured 1.000 in all three
	"redis-client-kill-busy":          0.95, // measured 1.000 in all three
	// Fixed by 5df0729; measured once since (and on the full runs of
	// seeds 1–3: 100, 85.8–100, 90.7–93 %).
	"nginx-send-timeout-reset":     0.9, // measured 1.000 (0.48–0.92 before)
	"nginx-keepalive-timeout-race": 0.9, // measured 1.000 (0.858–0.954 before)
	"haproxy-tcp-reject":           0.8, // measured 0.922 (0.37–0.41 before); late rejects under load stay ambiguous
	// Added with 5df219b: SO_LINGER 0 after an error reply, at the
	// client's FIN (0 % before: a window "reopened" by the FIN's one
	// sequence number).
	"haproxy-deny-nolinger": 0.9, // measured 1.000 at seeds 4 and 5
	"haproxy-nolinger":      0.9, // measured 1.000 at seed 7 (said at 0.8)
}

// TestRealSoftware runs the subset through bench/realtruth/mkrealtruth.sh
// and scores analyze against the kernel's reasons with bench/truth. Set
// RSTSCOPE_REALTRUTH_OUT=DIR to keep the run for study (then
// bench/realtruth/examples.sh DIR KIND shows a kind's misses).
func TestRealSoftware(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"ip", "nft", "tcpdump", "nginx", "haproxy", "redis-server", "redis-cli", "curl", "go"} {
		testutil.LookTool(t, tool, "scripts/setup.sh installs it")
	}
	dir := os.Getenv("RSTSCOPE_REALTRUTH_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	script := filepath.Join(testutil.ModuleRoot(t), "bench", "realtruth", "mkrealtruth.sh")
	out, err := exec.Command(script, "-n", strconv.Itoa(testScale), "-k", strings.Join(testKinds, ","), "-o", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	res, err := truth.Score(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, truth.ResetsTSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := res.WriteTSV(f); err != nil {
		t.Fatal(err)
	}
	s := res.Summarize()
	t.Logf("connections %d, scored %d, right %.3f; resets scored %d, right %.3f; sender right %.3f; events matched %d of %d",
		s.Connections, s.ConnsScored, s.PerConnShareRight, s.ResetsScored, s.PerResetRight, s.SenderShareRight, s.EventsMatched, s.SendEvents)

	for _, k := range testKinds {
		if s.KindConns[k] == 0 {
			t.Errorf("kind %s made no connection", k)
		}
	}
	if s.SendEvents == 0 || s.EventMatchShare < minEventMatch {
		t.Errorf("kernel events matched to wire resets: %d of %d, want ≥ %.2f (unmatched: %v)", s.EventsMatched, s.SendEvents, minEventMatch, res.Unmatched)
	}
	if s.ConnsScored < minConnsScored {
		t.Errorf("got %d scored connections, want ≥ %d", s.ConnsScored, minConnsScored)
	}
	if s.PerConnShareRight < minConnShareRight {
		t.Errorf("cause right per connection: got %.3f, want ≥ %.2f", s.PerConnShareRight, minConnShareRight)
	}
	if s.PerResetRight < minResetRight {
		t.Errorf("cause right per reset: got %.3f, want ≥ %.2f", s.PerResetRight, minResetRight)
	}
	if s.SenderShareRight < minSenderRight {
		t.Errorf("sender right: got %.3f, want ≥ %.2f", s.SenderShareRight, minSenderRight)
	}
	scored, right := map[string]int{}, map[string]int{}
	for i := range res.Resets {
		r := &res.Resets[i]
		if r.First && r.Scored() {
			scored[r.Scenario.Kind]++
			if r.Right() {
				right[r.Scenario.Kind]++
			}
		}
	}
	for _, k := range testKinds {
		t.Logf("%-34s %4d scored, %.3f right", k, scored[k], float64(right[k])/float64(max(1, scored[k])))
	}
	for k, floor := range kindFloors {
		if scored[k] == 0 {
			t.Errorf("%s: no connection with a scored reset", k)
			continue
		}
		if got := float64(right[k]) / float64(scored[k]); got < floor {
			t.Errorf("%s: cause right for %d of %d connections (%.3f), want ≥ %.2f", k, right[k], scored[k], got, floor)
		}
	}
}
