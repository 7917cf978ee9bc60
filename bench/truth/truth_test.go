package truth

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
)

// The small run's floors, with bench/mktruth.sh -n 2500 -s 1 on this 2-core
// machine. Before issue 9's rewrite (c2b0d47), five runs: 74.4–76.0 % of
// connections and 75.5–78.1 % of resets right. With the rewrite: 87.3 % of
// connections, 88.5 % of resets (the full 100 000-connection run: 90.3 %
// and 90.9 %); the rest was mostly the pipeline kind, whose reset is byte
// for byte the abort-server kind's but for the requests it carries. Since
// flow counts a flight's requests (stop 14): 98.7 % and 98.8 % (the full
// run of seed 18: 99.3 % and 99.1 %). Each floor is the measure less about
// 5 points, for run-to-run variation (races decide a few kinds' reasons).
const (
	smallRunConns     = 2500
	minConnShareRight = 0.93 // measured 0.987
	minResetRight     = 0.93 // measured 0.988
	minSenderRight    = 0.97 // measured 1.000
	// maxCalibrationGap bounds |share right − mean confidence| for every
	// confidence bin of at least calibrationMinFindings findings (issue 9
	// asks ±0.1 on the full run; a small run is noisier), but one: the
	// bin of the declared coins (evenOddsLo), findings that give their
	// alternative 0.45 because the kernel-truth runs answer them both ways
	// (cause/close.go: readOrUnread, a client resetting 1 ms or more after
	// the data it read, SO_LINGER 0 on the harness and haproxy, data unread
	// on real clients), a server resetting after answering a request
	// (SO_LINGER 0 on the harness, a request read in part by sshd), and
	// the idle router's reset after seconds of silence, which real idle
	// timers would take minutes to send. This harness makes one side of
	// each, so that bin is right more often than it says (full run of seed
	// 20: 4 616 findings, 97 % right at 0.55); it is held only from below:
	// a bin right less often than the bound allows means a rule regressed
	// into it.
	maxCalibrationGap      = 0.22
	evenOddsLo             = 0.5
	calibrationMinFindings = 100
	// The harness itself: a kernel-sent reset the scorer cannot find on
	// the wire is a harness fault, not a rule's.
	minEventMatch = 0.99 // measured 1.000
	// Honest doubt: a wrong verdict should still name the kernel's cause
	// among its alternatives. The 100 000-connection run (seed 1, at
	// 77d131e): 3 363 of 3 379 wrong verdicts did (99.5 %); seed 18 once
	// pipelines were told apart, 252 of 257, 5 of 36 054 scored
	// connections not. Counted against the scored connections: a small
	// run now has a dozen wrong verdicts, too few for a share (10 of 12
	// once, 2 of 941 scored connections not named: 0.002).
	maxWrongUnnamed = 0.005
)

// plannedKinds are the scenario kinds mktruth.sh plans; each must have made
// at least one connection, or the harness measured less than it claims.
var plannedKinds = []string{"short", "abort-client", "abort-server", "unread-close", "closed-port",
	"bulk-download", "bulk-upload", "keepalive", "keepalive-race", "refused-upload", "partial-read",
	"abort-client-unread", "abort-server-unread", "pipeline", "listener-closed", "killed",
	"vanish-keepalive", "vanish-retrans", "abandoned", "idle-router", "scan"}

// TestSmallRun makes a truth run of smallRunConns connections (about 15 s
// here) and scores analyze against the kernel's reasons. Set
// RSTSCOPE_TRUTH_OUT=DIR to keep the run (capture, TSVs) for study.
func TestSmallRun(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"ip", "nft", "tcpdump", "mergecap", "go"} {
		testutil.LookTool(t, tool, "scripts/setup.sh installs it")
	}
	dir := os.Getenv("RSTSCOPE_TRUTH_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	script := filepath.Join(testutil.ModuleRoot(t), "bench", "mktruth.sh")
	out, err := exec.Command(script, "-n", "2500", "-o", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	res, err := Score(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, ResetsTSVFile))
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

	if s.Connections < smallRunConns*99/100 {
		t.Errorf("got %d connections logged, want about %d", s.Connections, smallRunConns)
	}
	for _, k := range plannedKinds {
		if s.KindConns[k] == 0 {
			t.Errorf("kind %s made no connection", k)
		}
	}
	if len(s.KindConns) != len(plannedKinds) {
		t.Errorf("got %d kinds in the scenario log, want %d: %v", len(s.KindConns), len(plannedKinds), s.KindConns)
	}
	if s.SendEvents == 0 || s.EventMatchShare < minEventMatch {
		t.Errorf("kernel events matched to wire resets: %d of %d, want ≥ %.2f (unmatched: %v)", s.EventsMatched, s.SendEvents, minEventMatch, res.Unmatched)
	}
	if s.ConnsScored < 500 {
		t.Errorf("got %d scored connections, want ≥ 500 (the mix makes about 900)", s.ConnsScored)
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
	if d := res.Doubt(); float64(d.Wrong-d.WrongNamed) > maxWrongUnnamed*float64(s.ConnsScored) {
		t.Errorf("wrong verdicts not naming the kernel's cause among their alternatives: %d of %d scored connections (%d wrong), want ≤ %.3f of them", d.Wrong-d.WrongNamed, s.ConnsScored, d.Wrong, maxWrongUnnamed)
	}
	for _, b := range res.Calibration() {
		if b.Findings < calibrationMinFindings {
			continue
		}
		share, mean := float64(b.Right)/float64(b.Findings), b.SumConfidence/float64(b.Findings)
		gap := math.Abs(share - mean)
		if b.Lo == evenOddsLo {
			gap = mean - share
		}
		if gap > maxCalibrationGap {
			t.Errorf("confidence bin [%.1f,%.1f): %d findings, %.2f right at mean confidence %.2f: off by more than %.2f",
				b.Lo, b.Lo+0.1, b.Findings, share, mean, maxCalibrationGap)
		}
	}
}
