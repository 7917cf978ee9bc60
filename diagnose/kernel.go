package diagnose

import (
	"net/netip"
	"strings"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/kernel"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// NewKernelAttributor returns an attributor for events named by names, with
// ports the host's ephemeral port range, cgroups to name cgroup ids and
// addrs to tell a namespace's own addresses from the ones it forges.
func NewKernelAttributor(names *kernel.Names, ports [2]uint16, cgroups *kernel.Cgroups, addrs LocalAddrs) *KernelAttributor {
	if addrs == nil {
		addrs = &kernel.NetNSAddrs{}
	}
	return &KernelAttributor{names: names, ports: ports, cgroups: cgroups, addrs: addrs}
}

// KernelAttributor turns what the kernel saw of one reset into a Finding:
// it puts the kernel's account into a cause.Context and lets
// cause.Classify decide, as analyze does for a capture, then adds the task
// that sent it. It lives here, where sources meet, so that kernel stays a
// leaf that knows nothing of causes.
type KernelAttributor struct {
	names   *kernel.Names
	ports   [2]uint16 // net.ipv4.ip_local_port_range
	cgroups *kernel.Cgroups
	addrs   LocalAddrs
	// ctx is reused for every reset: a cause.Context is about 2 KiB, and
	// allocating one per reset was most of watch's garbage under a flood
	// (BenchmarkWatchFinding: 2.5 KiB and 11 allocations per finding).
	// Finding is therefore not safe for concurrent use.
	ctx  cause.Context
	text kernelText
	// twins holds, from Observe until Finding, the namespace found
	// holding a NO_SOCKET reset's source address too (twinKey): read as
	// the event arrives, since a namespace may be gone by the time the
	// correlator's window lets the finding be made.
	twins map[twinKey]uint32
}

type twinKey struct {
	netns    uint32
	from, to netip.AddrPort
}

// maxTwins bounds twins; a flood of resets that ask clears it.
const maxTwins = 1024

// LocalAddrs tells whether an address is one of a network namespace's own,
// and whether the namespace forwards packets of a's family
// (kernel.NetNSAddrs); known is false when it cannot tell. Forget marks
// what it knows of a namespace stale, to be read afresh; Prime reads
// namespaces that appeared lately, before their resets arrive.
type LocalAddrs interface {
	Local(netns uint32, a netip.Addr) (local, known bool)
	Forwards(netns uint32, a netip.Addr) (forwards, known bool)
	// Elsewhere finds another namespace holding the connection from → to
	// with from's address on a working link (kernel.NetNSAddrs.Elsewhere).
	Elsewhere(netns uint32, from, to netip.AddrPort) (other uint32, found bool)
	Forget(netns uint32)
	Prime()
}

// kernel TCP states (include/net/tcp_states.h); ABI, printed by ss.
const (
	stateSynSent  = 2
	stateTimeWait = 6
)

// Finding explains one reset at wall-clock time at.
// Observe reads what the event's network namespace is (its addresses,
// whether it forwards) as the event arrives: the finding is made after the
// correlator's window, when a short-lived namespace (a pod, a lab run) may
// be gone and with it the evidence that its reset forged another's address.
//
// What a namespace is gets read afresh (at most every 5 ms): namespace
// inodes are reused once a namespace is gone, and TestWatchDuringLab
// measured a router's reject judged by the addresses of a server namespace
// deleted a second earlier under the same inode, and a client's reset by a
// deleted router's forwarding.
func (a *KernelAttributor) Observe(e *kernel.Event) {
	if e.Kind == kernel.Received {
		return
	}
	a.addrs.Forget(e.NetNS)
	a.addrs.Forwards(e.NetNS, e.From.Addr())
	if a.asksTwin(e) {
		if other, found := a.addrs.Elsewhere(e.NetNS, e.From, e.To); found {
			if a.twins == nil || len(a.twins) >= maxTwins {
				a.twins = make(map[twinKey]uint32)
			}
			a.twins[twinKey{e.NetNS, e.From, e.To}] = other
		}
	}
}

// asksTwin says the event is a reset a duplicate address explains: this
// host's stack answered a segment that was no SYN (one it read) for a
// connection it has no socket for.
func (a *KernelAttributor) asksTwin(e *kernel.Event) bool {
	in := packet.Flags(e.InFlags)
	return e.Kind == kernel.Sent && e.InFlags != 0 && !in.Has(packet.SYN) && a.names.Reason(e.Reason) == "NO_SOCKET"
}

// Prime reads the namespaces that appeared lately (LocalAddrs.Prime); call
// it from the loop that reads events, between events.
func (a *KernelAttributor) Prime() { a.addrs.Prime() }

func (a *KernelAttributor) Finding(r *kernel.Reset, at time.Time) report.Finding {
	e := &r.Event
	ctx := &a.ctx
	a.fill(ctx, r, at)
	v := cause.Classify(ctx)
	from, to := endStrings(e.From, e.To)
	f := report.Finding{
		Time:       at.UTC(),
		Client:     a.endString(ctx.Conn.Ep[v.ClientDir].Addr, e, from, to),
		Server:     a.endString(ctx.Conn.Ep[v.ClientDir.Other()].Addr, e, from, to),
		From:       from,
		Sender:     v.Sender,
		Cause:      v.Cause,
		Confidence: v.Confidence,
		Evidence:   v.Evidence,
		Advice:     a.advice(v.Cause),
		Benign:     v.Benign,
		NetNS:      uint64(e.NetNS),
		Context:    e.Context.String(),
		Direction:  "sent",
	}
	st := a.stateText(e.State, e.Substate)
	f.State = st.shown
	f.Alternatives = alternativesOf(&v)
	f.ResetACK = a.resetACK(e)
	if e.Context == kernel.ContextUnknown {
		f.Context = ""
	}
	// What the kernel adds to the classifier's evidence, at most four
	// lines, appended in one allocation (or none when the verdict's slice
	// has room) rather than growing the slice line by line.
	var more [4]string
	n := 0
	switch e.Kind {
	case kernel.Sent:
		f.KernelReason = a.names.Reason(e.Reason)
		if f.State != "" {
			more[n], n = st.sent, n+1
		}
		if e.InFlags != 0 {
			more[n], n = a.flagsText(e.InFlags), n+1
		}
	case kernel.Received:
		f.Direction = "received"
		more[n], n = st.received, n+1
	case kernel.Wire:
		if e.FromSock {
			more[n] = "kernel: it left a device (net:net_dev_queue) with a raw or packet socket as its owner and no tcp_send_reset for it"
		} else {
			more[n] = "kernel: it left a device (net:net_dev_queue) with no owning socket and no tcp_send_reset for it"
		}
		n++
	}
	if rc := &r.Recv; rc.Kind == kernel.Received {
		more[n], n = a.receivedText(e.NetNS, rc), n+1
	}
	if e.Context == kernel.ContextProcess {
		p := a.process(e)
		f.PID = int(e.PID)
		f.Command = p.comm
		f.Cgroup = a.cgroups.Path(e.CgroupID)
		more[n], n = p.sent, n+1
	} else if e.Context == kernel.ContextKernel && e.Kind != kernel.Received {
		more[n], n = "sent from kernel context (softirq: the receive path or a timer), not by a task", n+1
	}
	if n > 0 {
		if cap(f.Evidence)-len(f.Evidence) < n {
			f.Evidence = append(make([]string, 0, len(f.Evidence)+n), f.Evidence...)
		}
		f.Evidence = append(f.Evidence, more[:n]...)
	}
	return f
}

// resetACK is whether the reset an event reports carried ACK, as far as
// the kernel says (cause.SentWithACK by its reason; a reply's ACK depends
// on the segment it answered, unknown when the event could not read it).
// An unclaimed RST's flags were read off the skb.
func (a *KernelAttributor) resetACK(e *kernel.Event) int8 {
	switch {
	case e.Kind == kernel.Sent:
		in := packet.Flags(e.InFlags)
		ack, known := cause.SentWithACK(a.names.Reason(e.Reason), in.Has(packet.SYN) && !in.Has(packet.ACK))
		if !known || !ack && e.InFlags == 0 {
			return 0 // a reply whose answered segment the program could not read
		}
		if ack {
			return 1
		}
		return -1
	case e.Kind == kernel.Wire && e.RSTFlags != 0:
		return ackOf(packet.Flags(e.RSTFlags))
	}
	return 0
}

// fill sets ctx to the classifier's input for one reset the kernel
// reported: its account (cause.Kernel) and the minimal connection a kernel
// event allows, the two ends and whether the answered segment was a SYN.
func (a *KernelAttributor) fill(ctx *cause.Context, r *kernel.Reset, at time.Time) {
	e := &r.Event
	*ctx = cause.Context{Time: at, Dir: flow.FromResp, EphemeralPorts: a.ports}
	k := &ctx.Kernel
	st := a.stateText(e.State, e.Substate)
	k.State, k.Substate = st.bare, st.bareSub
	k.InFlags = packet.Flags(e.InFlags)
	k.FromLocal = true
	switch e.Kind {
	case kernel.Sent:
		k.Path, k.Reason = cause.KernelStack, a.names.Reason(e.Reason)
		k.Forwards, _ = a.addrs.Forwards(e.NetNS, e.From.Addr())
		k.ClosedClean, k.ClosedAgo = e.ClosedClean, e.ClosedAgo
		if a.asksTwin(e) {
			tk := twinKey{e.NetNS, e.From, e.To}
			k.AddrElsewhere = a.twins[tk]
			delete(a.twins, tk)
		}
	case kernel.Netfilter, kernel.Wire:
		// An unclaimed RST with no owning socket was built by kernel code,
		// which for a RST is netfilter's reject; a raw or packet socket's
		// is a program's.
		k.Path = cause.KernelNetfilter
		if e.Kind == kernel.Wire && e.FromSock {
			k.Path = cause.KernelNotStack
		}
		k.Conntrack = conntrackOf(e.Conntrack)
		k.FromLocal, _ = a.addrs.Local(e.NetNS, e.From.Addr())
	case kernel.Received:
		k.Path = cause.KernelReceived
	}
	// The RST travels FromResp: Ep[FromResp] sent it. A SYN it answered
	// came from the other end, the client.
	c := &ctx.Conn
	c.Ep[flow.FromResp].Addr, c.Ep[flow.FromOrig].Addr = e.From, e.To
	c.Key, _ = flow.MakeKey(e.To, e.From)
	synAnswered := k.InFlags.Has(packet.SYN) && !k.InFlags.Has(packet.ACK)
	if e.Kind == kernel.Received && e.State == stateSynSent {
		synAnswered = true // the receiving socket had sent a SYN
	}
	ctx.RST.Flags = packet.RST
	if e.Kind == kernel.Wire && e.RSTFlags != 0 {
		ctx.RST.Flags = packet.Flags(e.RSTFlags) // seen on the wire
	}
	if synAnswered {
		c.SYNSeen = true
		o := &c.Ep[flow.FromOrig]
		o.SawSYN, o.SYNFlags = true, packet.SYN
		// A RST for a SYN is RST|ACK acking ISN+1: tcp_v4_send_reset acks
		// seq+1 when the segment had no ACK, and a SYN-SENT socket accepts
		// a RST only if it acks exactly its SYN (RFC 9293 §3.10.7.3).
		ctx.RST.Flags |= packet.ACK
		ctx.RST.Ack = uint32(o.ISN) + 1
	}
}

// conntrackOf names kernel's conntrack fact in the classifier's terms:
// kernel.Conntrack mirrors rstscope.h, cause.Conntrack is cause's own, and
// nothing but this switch ties their numbers.
func conntrackOf(c kernel.Conntrack) cause.Conntrack {
	switch c {
	case kernel.ConntrackNew:
		return cause.ConntrackNew
	case kernel.ConntrackKnown:
		return cause.ConntrackKnown
	}
	return cause.ConntrackNone
}

// bare drops the TCP_ prefix: cause.Kernel names states as ss prints them.
func bare(state string) string { return strings.TrimPrefix(state, "TCP_") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
