package diagnose

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/kernel"
	"github.com/rstscope/rstscope/report"
)

// NewKernelAttributor returns an attributor for events named by names, with
// ports the host's ephemeral port range and cgroups to name cgroup ids.
func NewKernelAttributor(names *kernel.Names, ports [2]uint16, cgroups *kernel.Cgroups) *KernelAttributor {
	return &KernelAttributor{names: names, ports: ports, cgroups: cgroups}
}

// KernelAttributor turns a kernel event into a Finding: the cause from the
// kernel's reason (cause.ForKernelReason) refined by what the event shows,
// the roles of both ends, and the task when the reset came from one. It
// lives here, where sources meet, so that kernel stays a leaf that knows
// nothing of causes.
type KernelAttributor struct {
	names   *kernel.Names
	ports   [2]uint16 // net.ipv4.ip_local_port_range
	cgroups *kernel.Cgroups
	// sent remembers recent causes of RSTs this host sent, so a RST both
	// sent and received here (two namespaces, loopback) explains both ends.
	sent map[[2]netip.AddrPort]cause.ID
}

const (
	tcpSYN = 0x02
	tcpACK = 0x10
	// kernel TCP states (include/net/tcp_states.h); ABI, printed by ss.
	stateSynSent    = 2
	stateSynRecv    = 3
	stateFinWait2   = 5
	stateTimeWait   = 6
	stateListen     = 10
	stateNewSynRecv = 12
)

func (a *KernelAttributor) Finding(e *kernel.Event, at time.Time) report.Finding {
	f := report.Finding{
		Time:    at.UTC(),
		From:    e.From.String(),
		State:   a.names.State(e.State),
		NetNS:   uint64(e.NetNS),
		Context: e.Context.String(),
	}
	if e.Context == kernel.ContextUnknown {
		f.Context = ""
	}
	if e.State == stateTimeWait && e.Substate != 0 && e.Substate != stateTimeWait {
		f.State += "/" + a.names.State(e.Substate)
	}
	client, server := a.roles(e)
	f.Client, f.Server = client.String(), server.String()
	f.Sender = cause.Server
	if e.From == client {
		f.Sender = cause.Client
	}
	var id cause.ID
	switch e.Kind {
	case kernel.Sent:
		f.Direction = "sent"
		f.KernelReason = a.names.Reason(e.Reason)
		id, f.Confidence = a.sentCause(e, f.KernelReason)
		ev := "kernel: tcp_send_reset reason=" + f.KernelReason
		if f.State != "" {
			ev += " state=" + f.State
		}
		f.Evidence = append(f.Evidence, ev)
		if e.InFlags != 0 {
			f.Evidence = append(f.Evidence, "it answered a segment with flags "+flagString(e.InFlags))
		}
		if len(a.sent) > 4096 {
			clear(a.sent)
		}
		if a.sent == nil {
			a.sent = make(map[[2]netip.AddrPort]cause.ID)
		}
		a.sent[[2]netip.AddrPort{e.From, e.To}] = id
	case kernel.Received:
		f.Direction = "received"
		f.Evidence = append(f.Evidence, "kernel: tcp_receive_reset on a socket in "+orDash(f.State))
		if sid, ok := a.sent[[2]netip.AddrPort{e.From, e.To}]; ok {
			id, f.Confidence = sid, 0.9
			f.Evidence = append(f.Evidence, "this host also sent it, as "+string(sid))
		} else if e.State == stateSynSent {
			id, f.Confidence = cause.ClosedPort, 0.5
			f.Evidence = append(f.Evidence, "a RST answered our SYN: no listener there, or a firewall rejects the connection")
		} else {
			id, f.Confidence = cause.Unknown, 0.2
			f.Evidence = append(f.Evidence, "the peer's reason is not visible from this host; capture with -i to see the wire")
		}
	case kernel.Wire, kernel.Netfilter:
		f.Direction = "sent"
		f.KernelReason = ""
		id, f.Confidence = cause.FirewallReject, 0.8
		if e.Kind == kernel.Netfilter {
			f.Confidence = 0.95
			f.Evidence = append(f.Evidence, "kernel: nf_send_reset built this RST (netfilter reject with tcp reset)")
		} else {
			f.Evidence = append(f.Evidence, "a RST left a device on this host and the TCP stack did not send it (no tcp_send_reset for this 4-tuple): not from the TCP stack, most likely netfilter's reject with tcp reset")
		}
	}
	f.Cause = id
	info := cause.Lookup(id)
	f.Advice = info.Advice
	f.Benign = info.Benign
	if e.Context == kernel.ContextProcess {
		f.PID = int(e.PID)
		f.Command = e.CommString()
		f.Cgroup = a.cgroups.Path(e.CgroupID)
		f.Evidence = append(f.Evidence, fmt.Sprintf("sent from process context by pid %d (%s)", e.PID, f.Command))
	} else if e.Context == kernel.ContextKernel {
		f.Evidence = append(f.Evidence, "sent from kernel context (softirq: the receive path or a timer), not by a task")
	}
	return f
}

// sentCause maps the kernel's reason to a cause and refines it with the
// state and the segment the RST answered.
func (a *KernelAttributor) sentCause(e *kernel.Event, reason string) (cause.ID, float64) {
	id := cause.ForKernelReason(reason)
	switch {
	case reason == "NO_SOCKET" && e.InFlags != 0 && e.InFlags&tcpSYN == 0:
		// A mid-connection segment found no socket: the peer kept using a
		// connection this host no longer has.
		return cause.HalfOpen, 0.8
	case reason == "INVALID_SYN" && e.State != stateListen:
		return cause.InvalidSegment, 0.7
	case reason == "TCP_TIMEWAIT_SOCKET" && e.Substate == stateFinWait2:
		// The application closed, the orphan sat in FIN-WAIT-2 as a
		// time-wait socket, and the peer still sent data (DESIGN.md: "data
		// after close with default settings").
		return cause.DataAfterClose, 0.85
	case id == cause.Unknown:
		return id, 0.3
	}
	return id, 0.9
}

// roles guesses which end opened the connection. A RST answering a SYN, or
// sent by a listener, comes from the server; a socket in SYN-SENT is the
// client; otherwise the end using an ephemeral port (ip_local_port_range)
// is the client, and failing that the lower port is the server.
func (a *KernelAttributor) roles(e *kernel.Event) (client, server netip.AddrPort) {
	from, to := e.From, e.To
	fromIsServer := func() bool {
		switch {
		case e.Kind == kernel.Sent && e.InFlags&(tcpSYN|tcpACK) == tcpSYN:
			return true
		case e.State == stateListen || e.State == stateSynRecv || e.State == stateNewSynRecv:
			return e.Kind != kernel.Received
		case e.State == stateSynSent:
			return e.Kind == kernel.Received
		}
		fe, te := a.ephemeral(from.Port()), a.ephemeral(to.Port())
		if fe != te {
			return te
		}
		return from.Port() < to.Port()
	}()
	if fromIsServer {
		return to, from
	}
	return from, to
}

func (a *KernelAttributor) ephemeral(p uint16) bool { return p >= a.ports[0] && p <= a.ports[1] }

func flagString(f uint8) string {
	var b []byte
	for i, n := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"} {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, n...)
		}
	}
	return string(b)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
