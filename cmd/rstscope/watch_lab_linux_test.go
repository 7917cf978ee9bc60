package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/lab"
	"github.com/rstscope/rstscope/report"
)

// kernelCannotTell lists the scenarios whose reset the resetting host's
// kernel cannot explain alone, with the verdict watch gives instead and why;
// `watch -i` (the wire beside the kernel) or a capture settles them. The
// test still checks that watch says exactly this for them.
var kernelCannotTell = map[string]struct {
	cause  cause.ID
	sender cause.Sender
	why    string
}{
	// None today. duplicate-ip was here until watch learned to look for
	// another namespace holding the reset's source address on a working
	// link (kernel.NetNSAddrs.Elsewhere): the second host answers a
	// segment of a connection it never had with NO_SOCKET, as a server
	// that lost the connection does.
}

// TestWatchDuringLab attaches `rstscope watch` to the whole host while
// every lab scenario runs (IPv4; the lab's namespaces are the client, the
// router and the server), and wants, for every reset a scenario made, a
// finding from the host that made it with the scenario's own cause and
// sender — the truth the scenario knows, not what a capture can show
// (lab.Expected.Cause, not CaptureCause).
func TestWatchDuringLab(t *testing.T) {
	testutil.RequireRoot(t)
	lw := startWatch(t)
	type want struct {
		scenario string
		x        lab.Expected
	}
	var wants []want
	ctx := context.Background()
	for _, s := range lab.Scenarios() {
		res, err := lab.Run(ctx, s, 4, t.TempDir(), io.Discard)
		if err != nil {
			t.Fatalf("lab %s: %v", s.ID(), err)
		}
		// One reset seen in both captures is one want; through the NAT
		// scenarios' router the same reset carries other addresses at the
		// server, where watch sees only its arrival: keep the sender's view.
		seen := map[string]bool{}
		for _, x := range append(append([]lab.Expected{}, res.Client...), res.Server...) {
			k := x.From + ">" + x.To
			if strings.HasSuffix(s.ID(), "-nat") {
				k = string(x.Cause) + "/" + string(x.Sender)
			}
			if !seen[k] {
				seen[k] = true
				wants = append(wants, want{s.ID(), x})
			}
		}
	}
	// The correlator holds each event for its join window: read until the
	// output has been quiet for a while.
	var got []report.Finding
	for quiet := false; !quiet; {
		select {
		case f := <-lw.findings:
			got = append(got, f)
		case <-time.After(2 * time.Second):
			quiet = true
		}
	}
	lw.stop(t)
	for f := range lw.findings {
		got = append(got, f)
	}
	var table strings.Builder
	right, limited := 0, 0
	for _, w := range wants {
		var match []report.Finding
		for _, f := range got {
			peer := f.Client
			if f.From == f.Client {
				peer = f.Server
			}
			if f.From == w.x.From && peer == w.x.To {
				match = append(match, f)
			}
		}
		// A scenario may make more resets on the 4-tuple than its captures
		// show (half-open's server aborts its own socket first, and the lab
		// drops that reset on the way): one of them must be the expected one.
		verdict := "no finding"
		ok := false
		for i, f := range match {
			v := fmt.Sprintf("%s by %s (%s %s)", f.Cause, f.Sender, f.KernelReason, f.State)
			if i == 0 {
				verdict = v
			} else {
				verdict += "; " + v
			}
			ok = ok || f.Cause == w.x.Cause && f.Sender == w.x.Sender
		}
		if lim, known := kernelCannotTell[w.scenario]; known {
			ok = false
			for _, f := range match {
				ok = ok || f.Cause == lim.cause && f.Sender == lim.sender
			}
			if ok {
				limited++
				fmt.Fprintf(&table, "%-38s %-26s %-10s %s  [kernel alone: %s]\n", w.scenario, w.x.Cause, w.x.Sender, verdict, lim.why)
				continue
			}
		}
		if ok {
			right++
		} else {
			t.Errorf("%s: reset %s -> %s: got %s, want %s by %s", w.scenario, w.x.From, w.x.To, verdict, w.x.Cause, w.x.Sender)
			// Seen once in CI beside the lab package's own tests and never
			// reproduced: say everything the findings said, so the next one
			// can be explained.
			for _, f := range match {
				t.Logf("  %s: %s by %s at %.2f, kernel %s %s, evidence: %s", w.scenario, f.Cause, f.Sender, f.Confidence, f.KernelReason, f.State, strings.Join(f.Evidence, " | "))
			}
		}
		fmt.Fprintf(&table, "%-38s %-26s %-10s %s\n", w.scenario, w.x.Cause, w.x.Sender, verdict)
	}
	t.Logf("watch during the lab: %d of %d resets with the scenario's cause and sender, %d where the kernel alone cannot tell (the wire can)\n%s",
		right, len(wants), limited, table.String())
}
