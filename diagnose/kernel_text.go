package diagnose

import (
	"net/netip"
	"strconv"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/kernel"
	"github.com/rstscope/rstscope/packet"
)

// kernelText holds the strings a kernel finding repeats, made once: a
// state's names and evidence lines, an answered segment's flags, a
// process's command and line, a cause's advice. Building them per reset
// (fmt.Sprintf, concatenation, AddrPort.String) was 7 of the 10
// allocations of each finding and most of the attributor's own time under
// a flood (BenchmarkKernelFinding; docs/watch.md, Cost).
type kernelText struct {
	states   map[uint16]*stateText
	flags    [256]string
	procs    map[procKey]procText
	received map[recvKey]string
	advice   map[cause.ID][]string
}

// maxCached bounds the caches keyed by what a host can vary without limit
// (processes, namespaces): when one is full it is emptied and refilled, which
// costs only the strings' remaking.
const maxCached = 4096

// stateText is what a finding says of a socket state and its time-wait
// substate.
type stateText struct {
	shown         string // "TCP_TIME_WAIT/TCP_FIN_WAIT2", as the finding shows it
	bare, bareSub string // cause.Kernel's State and Substate: no TCP_ prefix
	sent          string // the evidence line of tcp_send_reset in this state
	received      string // and of tcp_receive_reset
}

func (a *KernelAttributor) stateText(state, substate uint8) *stateText {
	t := &a.text
	key := uint16(state)<<8 | uint16(substate)
	if s, ok := t.states[key]; ok {
		return s
	}
	s := &stateText{shown: a.names.State(state), bare: bare(a.names.State(state))}
	if state == stateTimeWait && substate != 0 {
		s.bareSub = bare(a.names.State(substate))
		if substate != stateTimeWait {
			s.shown += "/" + a.names.State(substate)
		}
	}
	s.sent = "kernel: tcp_send_reset on a socket in " + s.shown
	s.received = "kernel: tcp_receive_reset on a socket in " + orDash(s.shown)
	if t.states == nil {
		t.states = make(map[uint16]*stateText)
	}
	t.states[key] = s // at most 65,536 pairs, and the kernel uses a dozen
	return s
}

// flagsText is the evidence line for the flags of the segment a reset answered.
func (a *KernelAttributor) flagsText(flags uint8) string {
	s := &a.text.flags[flags]
	if *s == "" {
		*s = "it answered a segment with flags " + packet.Flags(flags).String()
	}
	return *s
}

type procKey struct {
	pid  uint32
	comm [16]byte
}

type procText struct {
	comm string // the command, Comm up to its NUL
	sent string // the evidence line naming the process
}

func (a *KernelAttributor) process(e *kernel.Event) procText {
	t := &a.text
	key := procKey{e.PID, e.Comm}
	if p, ok := t.procs[key]; ok {
		return p
	}
	comm := e.CommString()
	p := procText{comm: comm, sent: "sent from process context by pid " + strconv.FormatUint(uint64(e.PID), 10) + " (" + comm + ")"}
	if t.procs == nil || len(t.procs) >= maxCached {
		t.procs = make(map[procKey]procText)
	}
	t.procs[key] = p
	return p
}

type recvKey struct {
	elsewhere bool   // received in another namespace than the reset was sent from
	netns     uint32 // that namespace
	state     uint8
}

// receivedText is the evidence line for a reset's receiving half, rc, on
// this host, when the reset was sent from netns.
func (a *KernelAttributor) receivedText(netns uint32, rc *kernel.Event) string {
	t := &a.text
	key := recvKey{state: rc.State}
	if rc.NetNS != netns {
		key.elsewhere, key.netns = true, rc.NetNS
	}
	if s, ok := t.received[key]; ok {
		return s
	}
	where := ""
	if key.elsewhere {
		where = " in netns " + strconv.FormatUint(uint64(rc.NetNS), 10)
	}
	s := "received on this host too" + where + ", by a socket in " + orDash(a.names.State(rc.State))
	if t.received == nil || len(t.received) >= maxCached {
		t.received = make(map[recvKey]string)
	}
	t.received[key] = s
	return s
}

// advice is the cause's advice, the vocabulary's own slice (which lets
// report.AppendJSON write it pre-encoded), without copying the cause's
// whole Info per reset as cause.Lookup does.
func (a *KernelAttributor) advice(id cause.ID) []string {
	t := &a.text
	if adv, ok := t.advice[id]; ok {
		return adv
	}
	adv := cause.Lookup(id).Advice
	if t.advice == nil {
		t.advice = make(map[cause.ID][]string)
	}
	t.advice[id] = adv // a closed vocabulary: a few dozen at most
	return adv
}

// endStrings formats a reset's two ends in one allocation: AddrPort.String
// allocates once per call, and each finding names both ends.
func endStrings(from, to netip.AddrPort) (string, string) {
	if !from.Addr().IsValid() || !to.Addr().IsValid() {
		return from.String(), to.String() // "invalid AddrPort", as before
	}
	var buf [2 * len("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%eth0]:65535")]byte
	b := from.AppendTo(buf[:0])
	n := len(b)
	b = to.AppendTo(b)
	s := string(b)
	return s[:n], s[n:]
}

// endString is the finding's string for ap, one of the event's ends.
func (a *KernelAttributor) endString(ap netip.AddrPort, e *kernel.Event, from, to string) string {
	switch ap {
	case e.From:
		return from
	case e.To:
		return to
	}
	return ap.String()
}
