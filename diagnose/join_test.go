package diagnose

import (
	"fmt"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/kernel"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

func TestJoiner(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pkt := report.Finding{From: "10.0.0.2:80", Client: "10.0.0.1:4000", Server: "10.0.0.2:80", Cause: cause.ClosedPort, Sender: cause.Server, Confidence: 0.9, Evidence: []string{"answers the SYN"}, File: "eth0", Frame: 7}
	hostFW := pkt
	hostFW.Cause = cause.HalfOpen
	kern := report.Finding{From: "10.0.0.2:80", Client: "10.0.0.1:4000", Server: "10.0.0.2:80", Cause: cause.ClosedPort, Sender: cause.Server, Confidence: 0.7,
		Direction: "sent", KernelReason: "NO_SOCKET", Context: "kernel", Evidence: []string{"kernel: tcp_send_reset reason=NO_SOCKET"}}
	other := pkt
	other.From, other.Client = "10.0.0.9:80", "10.0.0.8:5000"

	tests := []struct {
		name    string
		adds    []report.Finding
		kernel  []bool
		flushAt time.Duration
		want    int
		check   func(t *testing.T, got []report.Finding)
	}{
		{"both halves make one finding", []report.Finding{kern, pkt}, []bool{true, false}, time.Second, 1, func(t *testing.T, got []report.Finding) {
			f := got[0]
			if f.KernelReason != "NO_SOCKET" || f.Frame != 7 || f.Direction != "sent" || len(f.Evidence) != 2 {
				t.Errorf("merged finding lacks a half: %+v", f)
			}
		}},
		{"the kernel's reason overrides the packets' cause", []report.Finding{hostFW, kern}, []bool{false, true}, time.Second, 1, func(t *testing.T, got []report.Finding) {
			if got[0].Cause != cause.ClosedPort {
				t.Errorf("got %s, want the kernel's closed-port", got[0].Cause)
			}
		}},
		{"a lone half waits its window", []report.Finding{pkt}, []bool{false}, 100 * time.Millisecond, 0, nil},
		{"a lone half goes out after its window", []report.Finding{pkt}, []bool{false}, time.Second, 1, nil},
		{"different resets stay apart", []report.Finding{pkt, other}, []bool{false, false}, time.Second, 2, nil},
		{"two packet halves do not merge", []report.Finding{pkt, pkt}, []bool{false, false}, time.Second, 2, nil},
		{"held findings come out in time order", []report.Finding{at(other, 2), at(pkt, 1)}, []bool{true, false}, time.Second, 2, func(t *testing.T, got []report.Finding) {
			if !got[0].Time.Before(got[1].Time) {
				t.Errorf("got %v then %v, want time order", got[0].Time, got[1].Time)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []report.Finding
			j := &Joiner{Window: time.Second, Emit: func(f report.Finding) { got = append(got, f) }}
			for i, f := range tt.adds {
				j.Add(f, tt.kernel[i], t0)
			}
			j.Flush(t0.Add(tt.flushAt))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d", len(got), tt.want)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// at returns f stamped ms milliseconds after the epoch.
func at(f report.Finding, ms int) report.Finding {
	f.Time = time.UnixMilli(int64(ms))
	return f
}

// TestJoinerByShape: a server closing with a request unread has unhashed
// its socket before it sends its RST+ACK, so the client's segments in
// flight are answered by the listener with bare RSTs, on the wire before
// the close's own reset and toward the same peer (bench/mktruth.sh seed 4,
// frames 204122-204127). Each kernel event must join the packet of its own
// shape, whatever order the two sources deliver them in.
func TestJoinerByShape(t *testing.T) {
	t0 := time.Unix(1000, 0)
	base := report.Finding{From: "10.0.0.2:8086", Client: "10.0.0.1:40000", Server: "10.0.0.2:8086", Sender: cause.Server}
	pkt := func(frame uint64, ack int8) report.Finding {
		f := base
		f.Frame, f.ResetACK, f.Cause = frame, ack, cause.HalfOpen
		return f
	}
	// The reasons of Linux 6.18's tcp:tcp_send_reset format, as
	// /sys/kernel/tracing/events/tcp/tcp_send_reset/format prints them.
	const format = `print fmt: "...", __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, { 1, "NO_SOCKET" }, ` +
		`{ 6, "TCP_FLAGS" }, { 8, "TCP_ABORT_ON_DATA" }, { 11, "TCP_ABORT_ON_CLOSE" }, { 14, "TCP_STATE" }, { 15, "TCP_KEEPALIVE_TIMEOUT" })`
	names, err := kernel.NamesFromFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	a := NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: t.TempDir()}, fakeAddrs{})
	reasonValue := func(name string) uint32 {
		for v := uint32(0); v < 64; v++ {
			if names.Reason(v) == name {
				return v
			}
		}
		t.Fatalf("no reason %s in the 6.18 format", name)
		return 0
	}
	kern := func(reason string, in uint8) report.Finding {
		f := base
		f.Direction, f.KernelReason, f.Cause = "sent", reason, cause.HalfOpen
		if reason == "TCP_ABORT_ON_CLOSE" {
			f.Cause = cause.UnreadDataClose
		}
		f.ResetACK = a.resetACK(&kernel.Event{Kind: kernel.Sent, Reason: reasonValue(reason), InFlags: in})
		return f
	}
	const ackPsh = uint8(packet.ACK | packet.PSH)
	orders := map[string][]struct {
		f      report.Finding
		kernel bool
	}{
		"the close's event first": {{kern("TCP_ABORT_ON_CLOSE", 0), true}, {pkt(1, -1), false}, {pkt(2, -1), false}, {pkt(3, 1), false},
			{kern("TCP_FLAGS", ackPsh), true}, {kern("TCP_FLAGS", ackPsh), true}},
		"packets first": {{pkt(1, -1), false}, {pkt(2, -1), false}, {pkt(3, 1), false},
			{kern("TCP_ABORT_ON_CLOSE", 0), true}, {kern("TCP_FLAGS", ackPsh), true}, {kern("TCP_FLAGS", ackPsh), true}},
	}
	for name, adds := range orders {
		t.Run(name, func(t *testing.T) {
			var got []report.Finding
			j := &Joiner{Window: time.Second, Emit: func(f report.Finding) { got = append(got, f) }}
			for _, a := range adds {
				j.Add(a.f, a.kernel, t0)
			}
			j.Flush(t0.Add(2 * time.Second))
			if len(got) != 3 {
				t.Fatalf("got %d findings, want 3 (each packet joined to one event)", len(got))
			}
			for _, f := range got {
				want := "TCP_FLAGS"
				if f.Frame == 3 {
					want = "TCP_ABORT_ON_CLOSE"
				}
				if f.KernelReason != want {
					t.Errorf("frame %d (reset ACK %d) joined %q, want %q", f.Frame, f.ResetACK, f.KernelReason, want)
				}
			}
		})
	}
	for _, c := range []struct {
		reason string
		in     uint8
		want   int8
	}{
		{"NO_SOCKET", uint8(packet.SYN), 1}, // RST+ACK, ack = SYN+1
		{"NO_SOCKET", ackPsh, -1},           // bare, seq = the segment's ack
		{"TCP_ABORT_ON_DATA", 0, 0},         // a reply whose segment the program could not read
		{"TCP_KEEPALIVE_TIMEOUT", 0, 1},     // tcp_send_active_reset
		{"TCP_STATE", ackPsh, 1},            // active whatever InFlags says
	} {
		if got := a.resetACK(&kernel.Event{Kind: kernel.Sent, Reason: reasonValue(c.reason), InFlags: c.in}); got != c.want {
			t.Errorf("%s answering flags %#x: ResetACK %d, want %d", c.reason, c.in, got, c.want)
		}
	}
}

// TestJoinerLostHalf: one packet lost on a busy address pair (a dropped
// frame) must not pair every later event with the packet before its own.
func TestJoinerLostHalf(t *testing.T) {
	t0 := time.Unix(1000, 0)
	half := func(ms int, reason string, kernel bool) report.Finding {
		f := report.Finding{From: "10.0.0.2:80", Client: "10.0.0.1:4000", Server: "10.0.0.2:80", Cause: cause.UnreadDataClose,
			Sender: cause.Server, Time: t0.Add(time.Duration(ms) * time.Millisecond), ResetACK: 1}
		if kernel {
			f.Direction, f.KernelReason = "sent", reason
		} else {
			f.Frame = uint64(ms)
		}
		return f
	}
	var got []report.Finding
	j := &Joiner{Window: 2 * time.Second, Emit: func(f report.Finding) { got = append(got, f) }}
	for _, ms := range []int{0, 300, 600} {
		j.Add(half(ms, fmt.Sprintf("event at %d ms", ms), true), true, t0)
	}
	for _, ms := range []int{300, 600} { // the packet at 0 ms was lost
		j.Add(half(ms, "", false), false, t0)
	}
	j.Flush(time.Time{})
	for _, f := range got {
		if f.Frame != 0 && f.KernelReason != fmt.Sprintf("event at %d ms", f.Frame) {
			t.Errorf("packet at %d ms joined %q", f.Frame, f.KernelReason)
		}
	}
	if len(got) != 3 {
		t.Errorf("got %d findings, want 3 (two joined, the lone event)", len(got))
	}
}
