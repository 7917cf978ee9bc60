package truth

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// A run directory's files (bench/mktruth.sh).
const (
	CaptureFile   = "capture.pcap"
	ScenarioFile  = "scenarios.tsv"
	KernelFile    = "kernel.tsv"
	ResetsTSVFile = "resets.tsv"
)

// Matching windows. The tracepoint fires before the reset is queued and the
// capture stamps it on the client's veth a few µs later; truthtrace maps the
// trace's mono clock onto wall time with one reading of both clocks. On the
// 100 000-connection run (/work/wt/truth-out/full) wire time − event time
// had median −7 µs, 99th percentile 30 µs, range −1.5 ms to +4.0 ms: the
// windows hold that range with room to spare while staying far below the
// gaps between two resets of one direction.
const (
	matchBefore = 5 * time.Millisecond
	matchAfter  = 100 * time.Millisecond
)

// Reset is one RST packet of the capture with everything known about it.
type Reset struct {
	Wire WireReset
	// Scenario is the connection it belongs to (nil: none of the
	// generator's connections has its 4-tuple at that time).
	Scenario *Scenario
	Conn     int // index of Scenario in Result.Scenarios, -1 without one
	// Kernel is the tcp_send_reset event that sent it (nil: no kernel sent
	// it, or its event is missing).
	Kernel *KernelEvent
	Truth  Truth
	// Device is who sent it as far as the run knows: "kernel" (matched to
	// a tcp_send_reset event), "router" (no kernel event, and the
	// scenario says a router rejects), or "" (unknown).
	Device string
	// TrueSender is "client" or "server" from the scenario's 4-tuple for
	// a kernel's reset, "middlebox" for the router's.
	TrueSender string
	Finding    report.Finding
	HasFinding bool
	First      bool // the connection's first reset on the wire
}

// Scored says the reset has a kernel verdict to compare with.
func (r *Reset) Scored() bool { return r.Device != "" && len(r.Truth.Allowed) > 0 && r.HasFinding }

// Right says the finding names a cause the kernel's account allows.
func (r *Reset) Right() bool { return r.Scored() && r.Truth.Allows(r.Finding.Cause) }

// Result is a scored run.
type Result struct {
	Dir       string
	Scenarios []Scenario
	Resets    []Reset
	// SendEvents counts tcp_send_reset events; Unmatched are those with no
	// reset on the wire, by a short reason.
	SendEvents int
	Unmatched  map[string]int
	Stats      report.FileStats
	delays     []time.Duration // wire time − event time of each match
}

// MatchDelays returns the median, 99th percentile and largest of the wire
// time minus the event time over the matched resets: the measurement behind
// matchBefore and matchAfter.
func (res *Result) MatchDelays() (p50, p99, maxD, minD time.Duration) {
	if len(res.delays) == 0 {
		return
	}
	d := append([]time.Duration(nil), res.delays...)
	sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
	return d[len(d)/2], d[len(d)*99/100], d[len(d)-1], d[0]
}

// Score reads a run directory, analyses its capture with diagnose's default
// options (as `rstscope analyze` does) and joins the three accounts.
func Score(dir string) (*Result, error) {
	scen, err := ReadScenarios(filepath.Join(dir, ScenarioFile))
	if err != nil {
		return nil, err
	}
	events, err := ReadKernelEvents(filepath.Join(dir, KernelFile))
	if err != nil {
		return nil, err
	}
	capFile := filepath.Join(dir, CaptureFile)
	wire, err := ReadWireResets(capFile)
	if err != nil {
		return nil, err
	}
	findings := map[uint64]report.Finding{}
	var mu sync.Mutex
	opts := diagnose.DefaultOptions
	opts.OnFinding = func(f report.Finding) {
		mu.Lock()
		findings[f.Frame] = f
		mu.Unlock()
	}
	st, err := diagnose.ReadFile(capFile, opts)
	if err != nil {
		return nil, fmt.Errorf("analysing %s: %w", capFile, err)
	}
	res := &Result{Dir: dir, Scenarios: scen, Stats: st, Unmatched: map[string]int{}}
	res.join(wire, events, findings)
	return res, nil
}

type connKey struct{ client, server netip.AddrPort }

func (res *Result) join(wire []WireReset, events []KernelEvent, findings map[uint64]report.Finding) {
	byTuple := map[connKey][]int{}
	for i, s := range res.Scenarios {
		k := connKey{s.Client, s.Server}
		byTuple[k] = append(byTuple[k], i)
	}
	// The connection a packet at t belongs to: the last one of its 4-tuple
	// started by then (the generator logs the start just before connect).
	lookup := func(src, dst netip.AddrPort, t time.Time) (int, string) {
		for _, k := range []struct {
			key    connKey
			sender string
		}{{connKey{src, dst}, "client"}, {connKey{dst, src}, "server"}} {
			idx := byTuple[k.key]
			n := sort.Search(len(idx), func(i int) bool { return res.Scenarios[idx[i]].Start.After(t) })
			if n > 0 {
				return idx[n-1], k.sender
			}
		}
		return -1, ""
	}

	res.Resets = make([]Reset, len(wire))
	byDir := map[dirKey][]int{}
	for i, w := range wire {
		r := &res.Resets[i]
		r.Wire = w
		r.Conn, r.TrueSender = lookup(w.Src, w.Dst, w.Time)
		if r.Conn >= 0 {
			r.Scenario = &res.Scenarios[r.Conn]
		}
		r.Finding, r.HasFinding = findings[w.Frame]
		byDir[dirKey{w.Src, w.Dst}] = append(byDir[dirKey{w.Src, w.Dst}], i)
	}
	for _, idx := range byDir {
		sort.SliceStable(idx, func(a, b int) bool { return wire[idx[a]].Time.Before(wire[idx[b]].Time) })
	}

	// Two passes. First, each event with both addresses takes the earliest
	// reset still free on its direction within the window: events and
	// resets of a direction are in the same order, since one kernel sends
	// them all. Then the resets sent on behalf of a listener (the segment
	// reached a listening socket, as after a server lost its connection),
	// which the tracepoint reports with the listener's own address and a
	// wildcard peer (DESIGN.md, "What Linux 6.18 really reports"): each
	// takes the free reset from that address and port nearest in time. The
	// second pass comes last so that it cannot take a reset that another
	// connection's own event names; many connections share a listener.
	bySrc := map[netip.AddrPort][]int{}
	for i, w := range wire {
		bySrc[w.Src] = append(bySrc[w.Src], i)
	}
	for _, idx := range bySrc {
		sort.SliceStable(idx, func(a, b int) bool { return wire[idx[a]].Time.Before(wire[idx[b]].Time) })
	}
	unmatched := func(e *KernelEvent, idx []int) {
		why := "no RST on the wire in its direction within the window"
		if len(idx) == 0 {
			why = "no RST on the wire in its direction at all"
		}
		if c, _ := lookup(e.Src, e.Dst, e.Time); c >= 0 {
			why += " (" + res.Scenarios[c].Kind + ")"
		} else if e.Dst.Addr().IsUnspecified() {
			why += " (sent for a listener)"
		} else {
			why += " (no scenario has its 4-tuple)"
		}
		res.Unmatched[why]++
	}
	next := map[dirKey]int{}
	var wildcards []*KernelEvent
	for i := range events {
		e := &events[i]
		if e.Event != "tcp_send_reset" {
			continue
		}
		res.SendEvents++
		if e.Dst.Addr().IsUnspecified() {
			wildcards = append(wildcards, e)
			continue
		}
		k := dirKey{e.Src, e.Dst}
		idx, j := byDir[k], next[k]
		for j < len(idx) && (wire[idx[j]].Time.Before(e.Time.Add(-matchBefore)) || res.Resets[idx[j]].Kernel != nil) {
			j++
		}
		next[k] = j
		// The earliest free reset in the window whose flags this reason can
		// have: an active reset is always RST+ACK, so a bare RST just before
		// it (a segment answered NO_SOCKET, or by the listener, while the
		// close ran) stays free for its own event.
		m := j
		for m < len(idx) && !wire[idx[m]].Time.After(e.Time.Add(matchAfter)) &&
			(res.Resets[idx[m]].Kernel != nil || !shapeFits(e.Reason, &wire[idx[m]])) {
			m++
		}
		if m < len(idx) && !wire[idx[m]].Time.After(e.Time.Add(matchAfter)) {
			res.Resets[idx[m]].Kernel = e
			res.delays = append(res.delays, wire[idx[m]].Time.Sub(e.Time))
			continue
		}
		unmatched(e, idx)
	}
	for _, e := range wildcards {
		idx := bySrc[e.Src]
		lo := sort.Search(len(idx), func(i int) bool { return !wire[idx[i]].Time.Before(e.Time.Add(-matchBefore)) })
		best := -1
		var bestD time.Duration
		for j := lo; j < len(idx) && !wire[idx[j]].Time.After(e.Time.Add(matchAfter)); j++ {
			if res.Resets[idx[j]].Kernel != nil || !shapeFits(e.Reason, &wire[idx[j]]) {
				continue
			}
			d := wire[idx[j]].Time.Sub(e.Time)
			if d < 0 {
				d = -d
			}
			if best < 0 || d < bestD {
				best, bestD = idx[j], d
			}
		}
		if best < 0 {
			unmatched(e, idx)
			continue
		}
		res.Resets[best].Kernel = e
		res.delays = append(res.delays, wire[best].Time.Sub(e.Time))
	}

	// First reset per connection, and the kernel's verdict for each reset.
	first := map[int]int{}
	for i := range res.Resets {
		r := &res.Resets[i]
		if r.Conn >= 0 {
			if f, ok := first[r.Conn]; !ok || r.Wire.Time.Before(res.Resets[f].Wire.Time) {
				first[r.Conn] = i
			}
		}
		if r.Kernel != nil {
			kind := ""
			if r.Scenario != nil {
				kind = r.Scenario.Kind
			}
			r.Device = "kernel"
			r.Truth = kernelTruth(r.Kernel.Reason, r.Kernel.State, r.Wire.Answered, kind)
		} else if r.Scenario != nil && r.Scenario.Kind == "idle-router" {
			// No kernel sent it and the scenario routes this connection
			// through mktruth.sh's router, whose conntrack forgot the
			// connection after 2 s idle (nf_conntrack_tcp_timeout_established,
			// loose pickup off): the first segment after the gap is INVALID
			// and `ct state invalid reject with tcp reset` answers it
			// (nf_send_reset, which no TCP tracepoint sees). A middlebox's
			// idle timer is idle-timeout in the vocabulary (DESIGN.md).
			r.Device, r.TrueSender = "router", "middlebox"
			r.Truth = allow("router/idle-router", cause.IdleTimeout)
		}
	}
	for _, i := range first {
		res.Resets[i].First = true
	}
	res.pairCloseRaces()
	// A later reset from the side that reset first answers the peer's
	// segments still in flight to a connection it already ended: the
	// first reset's causes are right for it too (its own reason, often
	// NO_SOCKET or TCP_FLAGS at a listener, says only that the socket is
	// gone).
	for i := range res.Resets {
		r := &res.Resets[i]
		if r.First || r.Conn < 0 || r.Kernel == nil {
			continue
		}
		f := &res.Resets[first[r.Conn]]
		if f.Device != "" && f.TrueSender == r.TrueSender && f.Wire.Time.Before(r.Wire.Time) {
			r.Truth.Row += "+after-" + f.Truth.Row
			for _, id := range f.Truth.Allowed {
				if !r.Truth.Allows(id) {
					r.Truth.Allowed = append(r.Truth.Allowed, id)
				}
			}
		}
	}
}

// closeRace is how near in time a "no socket" reset and an active close's
// reset from the same side must be to count as one close. Measured on the
// 100 000-connection run (/work/wt/truth-out/full): 544 such pairs on one
// connection and side, median 49 µs apart, 90th percentile 164 µs, all
// within 2 ms; the next nearest pairs were about 1 s apart (other events).
const closeRace = 2 * time.Millisecond

// activeReset are the reasons of resets tcp_send_active_reset sends
// (tcp_close, tcp_disconnect, the keepalive timer, tcp_out_of_resources):
// it builds every one with TCPHDR_ACK | TCPHDR_RST (net/ipv4/tcp_output.c).
var activeReset = map[string]bool{"TCP_ABORT_ON_CLOSE": true, "TCP_ABORT_ON_LINGER": true, "TCP_ABORT_ON_MEMORY": true,
	"TCP_STATE": true, "TCP_KEEPALIVE_TIMEOUT": true, "TCP_DISCONNECT_WITH_DATA": true}

// replyReset are the reasons of resets that answer a segment
// (tcp_v4_send_reset, tcp_v6_send_reset): the reset carries ACK only when
// the segment it answers had none, which among what a peer sends is a SYN.
var replyReset = map[string]bool{"NO_SOCKET": true, "TCP_FLAGS": true, "TCP_ABORT_ON_DATA": true, "TCP_TIMEWAIT_SOCKET": true,
	"INVALID_SYN": true, "TCP_OLD_ACK": true, "TCP_INVALID_ACK_SEQUENCE": true, "TCP_RFC7323_PAWS": true,
	"TCP_TOO_OLD_ACK": true, "TCP_ACK_UNSENT_DATA": true}

// shapeFits says the wire reset w can be one the kernel sent for reason,
// by its ACK flag. Events of one direction and its resets are mostly in the
// same order, but not inside one close: __tcp_close unhashes the socket
// before it sends its RST+ACK, so a segment arriving meanwhile is answered
// with a bare RST (NO_SOCKET, or TCP_FLAGS by the listener) that reaches
// the wire before or after it, and the active reset's event fires after its
// transmit (seed 4 of bench/mktruth.sh: 90 µs after it).
func shapeFits(reason string, w *WireReset) bool {
	ack := w.Flags.Has(packet.ACK)
	switch {
	case activeReset[reason]:
		return ack
	case replyReset[reason] && ack:
		return w.Answered == "SYN" || w.Answered == "none"
	}
	return true
}

// activeClose are the reasons of resets an application's close sends
// (tcp_send_active_reset from __tcp_close, tcp_disconnect, tcp_close).
var activeClose = map[string]bool{"TCP_ABORT_ON_CLOSE": true, "TCP_STATE": true, "TCP_ABORT_ON_LINGER": true, "TCP_DISCONNECT_WITH_DATA": true}

// pairCloseRaces handles a race inside one close: __tcp_close sets
// TCP_CLOSE (which unhashes the socket) before it sends its reset, so a
// segment arriving on the other CPU in between finds no socket and is
// answered NO_SOCKET (or TCP_FLAGS by a listener on that port), often just
// before the close's own reset. Such a reset belongs to the close: it is
// also allowed the close's causes.
func (res *Result) pairCloseRaces() {
	byConn := map[int][]int{}
	for i := range res.Resets {
		if r := &res.Resets[i]; r.Conn >= 0 && r.Kernel != nil {
			byConn[r.Conn] = append(byConn[r.Conn], i)
		}
	}
	for _, idx := range byConn {
		for _, i := range idx {
			r := &res.Resets[i]
			if r.Kernel.Reason != "NO_SOCKET" && r.Kernel.Reason != "TCP_FLAGS" {
				continue
			}
			for _, j := range idx {
				c := &res.Resets[j]
				d := c.Wire.Time.Sub(r.Wire.Time)
				if d < 0 {
					d = -d
				}
				if c.TrueSender != r.TrueSender || !activeClose[c.Kernel.Reason] || d > closeRace {
					continue
				}
				r.Truth.Row += "+with-" + c.Truth.Row
				for _, id := range c.Truth.Allowed {
					if !r.Truth.Allows(id) {
						r.Truth.Allowed = append(r.Truth.Allowed, id)
					}
				}
				break
			}
		}
	}
}
