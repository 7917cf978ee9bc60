package truth

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestJoin checks the matching by hand: two connections on one 4-tuple
// (port reuse), a reset sent for a listener (wildcard peer in the event), a
// dual-stack event address, and an event whose reset never reached the
// capture.
func TestJoin(t *testing.T) {
	rstAck := packet.RST | packet.ACK
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cli, srv := ap("10.0.0.1:40000"), ap("10.0.0.2:8083")
	res := &Result{Unmatched: map[string]int{}, Scenarios: []Scenario{
		{Client: cli, Server: srv, Kind: "unread-close", Start: at(0)},
		{Client: cli, Server: srv, Kind: "abort-client", Start: at(100)},
	}}
	wire := []WireReset{
		{Frame: 5, Time: at(10), Src: srv, Dst: cli, Flags: rstAck, Answered: "data"},     // 1st conn, server, ABORT_ON_CLOSE
		{Frame: 6, Time: at(11), Src: srv, Dst: cli, Flags: packet.RST, Answered: "data"}, // 1st conn, for the listener
		{Frame: 9, Time: at(150), Src: cli, Dst: srv, Flags: rstAck, Answered: "data"},    // 2nd conn, client, TCP_STATE
	}
	events := []KernelEvent{
		{Time: at(10), Event: "tcp_send_reset", Src: srv, Dst: cli, State: "TCP_CLOSE", Reason: "TCP_ABORT_ON_CLOSE"},
		{Time: at(11), Event: "tcp_send_reset", Src: srv, Dst: ap("0.0.0.0:0"), State: "TCP_LISTEN", Reason: "TCP_FLAGS"},
		{Time: at(150), Event: "tcp_send_reset", Src: ap("[::ffff:10.0.0.1]:40000"), Dst: srv, State: "TCP_CLOSE", Reason: "TCP_STATE"},
		{Time: at(300), Event: "tcp_send_reset", Src: cli, Dst: srv, State: "TCP_CLOSE", Reason: "NO_SOCKET"},
		{Time: at(12), Event: "tcp_receive_reset", Src: cli, Dst: srv},
	}
	// The dual-stack form is unmapped on reading (parseAddrPort); do the same here.
	events[2].Src, _ = parseAddrPort(events[2].Src.String())
	findings := map[uint64]report.Finding{
		5: {Cause: cause.UnreadDataClose, Sender: cause.Server},
		6: {Cause: cause.HalfOpen, Sender: cause.Server},
		9: {Cause: cause.UnreadDataClose, Sender: cause.Client},
	}
	res.join(wire, events, findings)

	want := []struct {
		reason, sender string
		conn           int
		first, right   bool
	}{
		{"TCP_ABORT_ON_CLOSE", "server", 0, true, true},
		{"TCP_FLAGS", "server", 0, false, true}, // half-open is allowed for a listener's reset
		{"TCP_STATE", "client", 1, true, false}, // unread-data-close is not application-abort
	}
	for i, w := range want {
		r := res.Resets[i]
		if r.Kernel == nil {
			t.Errorf("reset %d: no kernel event matched, want %s", i, w.reason)
			continue
		}
		if r.Kernel.Reason != w.reason || r.TrueSender != w.sender || r.Conn != w.conn || r.First != w.first || r.Right() != w.right {
			t.Errorf("reset %d: got %s sender %s conn %d first %t right %t, want %s %s %d %t %t",
				i, r.Kernel.Reason, r.TrueSender, r.Conn, r.First, r.Right(), w.reason, w.sender, w.conn, w.first, w.right)
		}
	}
	if res.SendEvents != 4 || len(res.Unmatched) != 1 {
		t.Errorf("got %d send events and unmatched %v, want 4 and one unmatched (the NO_SOCKET at 300 ms)", res.SendEvents, res.Unmatched)
	}
	s := res.Summarize()
	if s.ConnsScored != 2 || s.ConnsRight != 1 || s.SenderRight != 3 {
		t.Errorf("got %d scored, %d right, %d senders right; want 2, 1, 3", s.ConnsScored, s.ConnsRight, s.SenderRight)
	}
}

// TestJoinByShape: an application's close with unread data unhashes the
// socket before it sends its reset, so the client's segments in flight meet
// the listener, which answers them with bare RSTs (no ACK), on the wire just
// before the close's own RST+ACK (bench/mktruth.sh seed 4, frames
// 204122-204127). tcp_send_active_reset always sets ACK, so the close's
// event takes the RST+ACK, and the bare RSTs are the listener's.
func TestJoinByShape(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	cli, srv := ap("10.0.0.1:40000"), ap("10.0.0.2:8086")
	res := &Result{Unmatched: map[string]int{}, Scenarios: []Scenario{
		{Client: cli, Server: srv, Kind: "refused-upload", Start: at(0)},
	}}
	wire := []WireReset{
		{Frame: 1, Time: at(1000), Src: srv, Dst: cli, Flags: packet.RST, Answered: "data"},
		{Frame: 2, Time: at(1010), Src: srv, Dst: cli, Flags: packet.RST, Answered: "data"},
		{Frame: 3, Time: at(1027), Src: srv, Dst: cli, Flags: packet.RST | packet.ACK, Answered: "data"},
	}
	events := []KernelEvent{
		{Time: at(1020), Event: "tcp_send_reset", Src: srv, Dst: cli, State: "TCP_CLOSE", Reason: "TCP_ABORT_ON_CLOSE"},
		{Time: at(1001), Event: "tcp_send_reset", Src: srv, Dst: ap("0.0.0.0:0"), State: "TCP_LISTEN", Reason: "TCP_FLAGS"},
		{Time: at(1011), Event: "tcp_send_reset", Src: srv, Dst: ap("0.0.0.0:0"), State: "TCP_LISTEN", Reason: "TCP_FLAGS"},
	}
	findings := map[uint64]report.Finding{
		1: {Cause: cause.HalfOpen, Sender: cause.Server},
		2: {Cause: cause.HalfOpen, Sender: cause.Server},
		3: {Cause: cause.UnreadDataClose, Sender: cause.Server},
	}
	res.join(wire, events, findings)
	for i, want := range []string{"TCP_FLAGS", "TCP_FLAGS", "TCP_ABORT_ON_CLOSE"} {
		r := res.Resets[i]
		if r.Kernel == nil || r.Kernel.Reason != want {
			got := "none"
			if r.Kernel != nil {
				got = r.Kernel.Reason
			}
			t.Errorf("frame %d: matched %s, want %s", r.Wire.Frame, got, want)
		}
		if !r.Right() {
			t.Errorf("frame %d: %s not allowed by row %s %v", r.Wire.Frame, r.Finding.Cause, r.Truth.Row, r.Truth.Allowed)
		}
	}
	if len(res.Unmatched) != 0 {
		t.Errorf("unmatched %v, want none", res.Unmatched)
	}
}

// TestKernelTruth pins rows of the table whose refinement is easy to get
// wrong; the expectations come from the kernel functions cited in
// reasons.go.
func TestKernelTruth(t *testing.T) {
	tests := []struct {
		reason, state, answered, kind string
		want                          []cause.ID
	}{
		{"NO_SOCKET", "UNKNOWN", "SYN", "closed-port", []cause.ID{cause.ClosedPort}},
		{"NO_SOCKET", "UNKNOWN", "SYN-ACK", "abandoned", []cause.ID{cause.ConnectAbandoned}},
		{"NO_SOCKET", "UNKNOWN", "SYN-ACK", "scan", []cause.ID{cause.ScanProbe}},
		{"NO_SOCKET", "UNKNOWN", "SYN", "scan", []cause.ID{cause.ScanProbe, cause.ClosedPort}},
		{"NO_SOCKET", "UNKNOWN", "data", "short", []cause.ID{cause.HalfOpen}},
		{"TCP_STATE", "TCP_CLOSE", "data", "abort-client", []cause.ID{cause.ApplicationAbort}},
		{"TCP_STATE", "TCP_CLOSE", "ACK", "listener-closed", []cause.ID{cause.ListenerClosed}},
		// bench/realtruth: redis killed with connections queued, and
		// haproxy's tcp-request reject (an SO_LINGER 0 close).
		{"TCP_STATE", "TCP_CLOSE", "data", "redis-restart-queued", []cause.ID{cause.ListenerClosed}},
		{"TCP_STATE", "TCP_CLOSE", "ACK", "haproxy-tcp-reject", []cause.ID{cause.ApplicationAbort}},
		{"TCP_ABORT_ON_CLOSE", "TCP_CLOSE", "data", "abort-client-unread", []cause.ID{cause.UnreadDataClose}},
		{"TCP_TIMEWAIT_SOCKET", "TCP_TIME_WAIT", "data", "keepalive-race", []cause.ID{cause.DataAfterClose}},
		{"TCP_KEEPALIVE_TIMEOUT", "TCP_ESTABLISHED", "ACK", "vanish-keepalive", []cause.ID{cause.IdleTimeout}},
		{"NOT_SPECIFIED", "TCP_CLOSE", "data", "short", nil},
	}
	for _, tt := range tests {
		got := kernelTruth(tt.reason, tt.state, tt.answered, tt.kind)
		if len(got.Allowed) != len(tt.want) {
			t.Errorf("%s/%s/%s: got %v, want %v", tt.reason, tt.answered, tt.kind, got.Allowed, tt.want)
			continue
		}
		for i := range tt.want {
			if got.Allowed[i] != tt.want[i] {
				t.Errorf("%s/%s/%s: got %v, want %v", tt.reason, tt.answered, tt.kind, got.Allowed, tt.want)
			}
		}
	}
}

// TestDoubt checks the honest-doubt figures against sums done by hand.
func TestDoubt(t *testing.T) {
	unread := Truth{Allowed: []cause.ID{cause.UnreadDataClose}}
	mk := func(first bool, c cause.ID, conf float64, alts ...report.Alternative) Reset {
		return Reset{Device: "kernel", Truth: unread, HasFinding: true, First: first,
			Finding: report.Finding{Cause: c, Confidence: conf, Alternatives: alts}}
	}
	res := &Result{Resets: []Reset{
		mk(true, cause.UnreadDataClose, 0.9), // right: (1−0.9)² = 0.01
		mk(true, cause.ApplicationAbort, 0.6, report.Alternative{Cause: cause.UnreadDataClose, Probability: 0.4}), // (1−0.4)² + 0.6² = 0.72; alone 1 + 0.36
		mk(true, cause.HalfOpen, 0.9),                  // (1−0)² + 0.81 = 1.81, alone the same
		mk(false, cause.HalfOpen, 0.9),                 // not a connection's first reset: left out
		{Device: "kernel", Truth: unread, First: true}, // no finding: not scored
	}}
	d := res.Doubt()
	near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
	if d.Scored != 3 || d.Wrong != 2 || d.WrongNamed != 1 ||
		!near(d.Brier, 2.54/3) || !near(d.BrierVerdict, 3.18/3) || !near(d.MeanTrueProb, 1.3/3) {
		t.Errorf("got %+v, want 3 scored, 2 wrong, 1 named, Brier %.4f, alone %.4f, mean p %.4f", d, 2.54/3, 3.18/3, 1.3/3)
	}
}
