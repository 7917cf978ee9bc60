package diagnose

import (
	"fmt"
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
	ctx cause.Context
}

// LocalAddrs tells whether an address is one of a network namespace's own,
// and whether the namespace forwards packets of a's family
// (kernel.NetNSAddrs); known is false when it cannot tell. Forget marks
// what it knows of a namespace stale, to be read afresh; Prime reads
// namespaces that appeared lately, before their resets arrive.
type LocalAddrs interface {
	Local(netns uint32, a netip.Addr) (local, known bool)
	Forwards(netns uint32, a netip.Addr) (forwards, known bool)
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
}

// Prime reads the namespaces that appeared lately (LocalAddrs.Prime); call
// it from the loop that reads events, between events.
func (a *KernelAttributor) Prime() { a.addrs.Prime() }

func (a *KernelAttributor) Finding(r *kernel.Reset, at time.Time) report.Finding {
	e := &r.Event
	ctx := &a.ctx
	a.fill(ctx, r, at)
	v := cause.Classify(ctx)
	c := &ctx.Conn
	client, server := c.Ep[v.ClientDir].Addr, c.Ep[v.ClientDir.Other()].Addr
	f := report.Finding{
		Time:       at.UTC(),
		Client:     client.String(),
		Server:     server.String(),
		From:       e.From.String(),
		Sender:     v.Sender,
		Cause:      v.Cause,
		Confidence: v.Confidence,
		Evidence:   v.Evidence,
		Advice:     cause.Lookup(v.Cause).Advice,
		Benign:     v.Benign,
		State:      a.state(e),
		NetNS:      uint64(e.NetNS),
		Context:    e.Context.String(),
		Direction:  "sent",
	}
	f.Alternatives = alternativesOf(&v)
	if e.Context == kernel.ContextUnknown {
		f.Context = ""
	}
	switch e.Kind {
	case kernel.Sent:
		f.KernelReason = a.names.Reason(e.Reason)
		if f.State != "" {
			f.Evidence = append(f.Evidence, "kernel: tcp_send_reset on a socket in "+f.State)
		}
		if e.InFlags != 0 {
			f.Evidence = append(f.Evidence, "it answered a segment with flags "+packet.Flags(e.InFlags).String())
		}
	case kernel.Received:
		f.Direction = "received"
		f.Evidence = append(f.Evidence, "kernel: tcp_receive_reset on a socket in "+orDash(f.State))
	case kernel.Wire:
		owner := "no owning socket"
		if e.FromSock {
			owner = "a raw or packet socket as its owner"
		}
		f.Evidence = append(f.Evidence, "kernel: it left a device (net:net_dev_queue) with "+owner+" and no tcp_send_reset for it")
	}
	if rc := &r.Recv; rc.Kind == kernel.Received {
		where := ""
		if rc.NetNS != e.NetNS {
			where = fmt.Sprintf(" in netns %d", rc.NetNS)
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("received on this host too%s, by a socket in %s", where, orDash(a.names.State(rc.State))))
	}
	if e.Context == kernel.ContextProcess {
		f.PID = int(e.PID)
		f.Command = e.CommString()
		f.Cgroup = a.cgroups.Path(e.CgroupID)
		f.Evidence = append(f.Evidence, fmt.Sprintf("sent from process context by pid %d (%s)", e.PID, f.Command))
	} else if e.Context == kernel.ContextKernel && e.Kind != kernel.Received {
		f.Evidence = append(f.Evidence, "sent from kernel context (softirq: the receive path or a timer), not by a task")
	}
	return f
}

// fill sets ctx to the classifier's input for one reset the kernel
// reported: its account (cause.Kernel) and the minimal connection a kernel
// event allows, the two ends and whether the answered segment was a SYN.
func (a *KernelAttributor) fill(ctx *cause.Context, r *kernel.Reset, at time.Time) {
	e := &r.Event
	*ctx = cause.Context{Time: at, Dir: flow.FromResp, EphemeralPorts: a.ports}
	k := &ctx.Kernel
	k.State, k.Substate = bare(a.names.State(e.State)), ""
	if e.State == stateTimeWait && e.Substate != 0 {
		k.Substate = bare(a.names.State(e.Substate))
	}
	k.InFlags = packet.Flags(e.InFlags)
	k.FromLocal = true
	switch e.Kind {
	case kernel.Sent:
		k.Path, k.Reason = cause.KernelStack, a.names.Reason(e.Reason)
		k.Forwards, _ = a.addrs.Forwards(e.NetNS, e.From.Addr())
	case kernel.Netfilter, kernel.Wire:
		// An unclaimed RST with no owning socket was built by kernel code,
		// which for a RST is netfilter's reject; a raw or packet socket's
		// is a program's.
		k.Path = cause.KernelNetfilter
		if e.Kind == kernel.Wire && e.FromSock {
			k.Path = cause.KernelNotStack
		}
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

// bare drops the TCP_ prefix: cause.Kernel names states as ss prints them.
func bare(state string) string { return strings.TrimPrefix(state, "TCP_") }

// state is the socket's state as the finding shows it, with a time-wait
// socket's substate ("TCP_TIME_WAIT/TCP_FIN_WAIT2").
func (a *KernelAttributor) state(e *kernel.Event) string {
	s := a.names.State(e.State)
	if e.State == stateTimeWait && e.Substate != 0 && e.Substate != stateTimeWait {
		s += "/" + a.names.State(e.Substate)
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
