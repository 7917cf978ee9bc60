package cause

import (
	"time"

	"github.com/rstscope/rstscope/packet"
)

// fromKernel decides the cause from the kernel's own account of the reset,
// when a live host gave one (watch). The kernel's reason names the code path
// that sent the reset, which the wire can only guess at, so it decides
// whenever it names one cause; where one reason covers several causes
// (NO_SOCKET, TCP_STATE) the socket state, the segment answered and the
// wire facts split it, and the rest go to the alternatives.
//
// The mapping follows what Linux 6.18 was measured to send (DESIGN.md, "What
// Linux 6.18 really reports") and the callers of tcp_v4_send_reset and
// tcp_send_active_reset in net/ipv4/tcp.c, tcp_ipv4.c, tcp_input.c,
// tcp_minisocks.c and tcp_timer.c.
func fromKernel(f *facts) (v kernelVerdict, ok bool) {
	k := &f.ctx.Kernel
	switch k.Path {
	case KernelNetfilter, KernelNotStack:
		return f.netfilterVerdict(k), true
	case KernelReceived:
		if k.SentHere == "" && k.State == "SYN_SENT" && f.ctx.RST.Seq == 0 && f.c.Ep[f.ctx.Dir].Packets == 0 {
			// Our connect() was refused (tcp_rcv_synsent_state_process
			// took the reset): nothing listens there, or a reject rule on
			// the peer or in the path answered for it. Only the peer's
			// host, or a capture, can tell which.
			f.add("a connect() from this host was refused by a reset: nothing listens on %s, or a reject rule answered for it", f.s.Addr)
			f.add("watch on %s's host, or a capture, would tell a closed port from a reject rule", f.s.Addr.Addr())
			return kernelVerdict{cause: ClosedPort, sender: f.role, conf: 0.6,
				alts: []Alternative{{FirewallReject, 0.4}}}, true
		}
		if k.SentHere == "" {
			return kernelVerdict{}, false // the peer's reason is not visible here: the wire decides
		}
		f.add("this host also sent the reset: kernel reason %s", trimReason(k.SentHere))
		return f.reasonVerdict(trimReason(k.SentHere), k)
	case KernelStack:
		return f.reasonVerdict(trimReason(k.Reason), k)
	}
	return kernelVerdict{}, false
}

// kernelVerdict is fromKernel's answer: the cause, who sent it, its
// probability and the alternatives left open.
type kernelVerdict struct {
	cause  ID
	sender Sender
	conf   float64
	alts   []Alternative
}

// kernelSure is the confidence of a cause the kernel's reason names alone:
// every lab and watch test so far found the reason's cause (70/70 lab
// resets; the root tests of watch), and the rest is room for a reason the
// kernel reuses in a path nobody has measured yet.
const kernelSure = 0.95

func (f *facts) reasonVerdict(reason string, k *Kernel) (kernelVerdict, bool) {
	one := func(id ID) (kernelVerdict, bool) {
		return kernelVerdict{cause: id, sender: f.role, conf: kernelSure}, true
	}
	answered := k.InFlags
	switch reason {
	case "NO_SOCKET":
		switch {
		case answered.Has(packet.SYN) && !answered.Has(packet.ACK):
			// tcp_v4_rcv: no listener for a SYN.
			return one(ClosedPort)
		case answered.Has(packet.SYN | packet.ACK):
			// A SYN-ACK for a connect() that is gone: the SYN sender gave up.
			return one(ConnectAbandoned)
		}
		if k.ClosedClean && k.ClosedAgo < timeWaitLen {
			// This host closed second and its FIN was acknowledged, so the
			// peer, which closed first, sits in TIME-WAIT; the segment came
			// from that side (a stray or old duplicate: a TIME-WAIT socket
			// sends nothing new), and this reset, landing, ends the
			// TIME-WAIT early. Measured in the lab's two RFC 1337 scenarios
			// (TestWatchDuringLab), which the reason alone had called
			// half-open; a host that lost the connection (half-open) has no
			// clean close of it to remember.
			f.add("this host closed this connection %s before the reset, second and cleanly (its FIN acknowledged): %s closed first and holds it in TIME-WAIT", k.ClosedAgo, f.peerRole)
			f.add("the reset answers a stray segment from that TIME-WAIT side and, with tcp_rfc1337=0 there, ends its TIME-WAIT early (RFC 1337)")
			return kernelVerdict{cause: TimeWaitAssassination, sender: f.role, conf: 0.9,
				alts: []Alternative{{HalfOpen, 0.1}}}, true
		}
		if k.AddrElsewhere != 0 && !answered.Has(packet.SYN) {
			// Another namespace on this host holds the same address on a
			// working link: the segment was meant for the host that has
			// the connection, and this one, which never had it, answered.
			// The lab's duplicate-ip scenario (TestWatchDuringLab) is this;
			// a host that lost its connection has no twin. Two isolated
			// networks may legitimately reuse an address, hence the
			// alternative.
			f.add("another network namespace on this host (inode %d) holds %s on a working link too: two hosts answer for the address, and this one never had the connection", k.AddrElsewhere, f.s.Addr.Addr())
			f.add("which host the peer's neighbour entry points at settles it (ip neigh on the peer, arping -D for the address)")
			return kernelVerdict{cause: DuplicateIP, sender: SenderUnknown, conf: 0.7,
				alts: []Alternative{{HalfOpen, 0.3}}}, true
		}
		// A segment of a connection this host no longer holds. When this
		// side had closed with FIN on the wire, its time-wait socket has
		// expired since (data after close); otherwise it lost the
		// connection (restart, crash, failover).
		if f.s.SawFIN && (f.p.DataAfterFIN > 0 || f.hasPrior && f.prior.PayloadLen > 0) {
			return kernelVerdict{cause: DataAfterClose, sender: f.role, conf: 0.6,
				alts: []Alternative{{HalfOpen, 0.4}}}, true
		}
		if k.Forwards && f.ephemeralSender() {
			// A NAT (masquerade keeps the client's ephemeral port) whose
			// conntrack entry expired: the peer's next segment is addressed
			// to the router itself and its own stack has no socket.
			// Measured with masquerade and a 2 s established timeout
			// (cmd/rstscope TestWatchNATLostState). Conntrack forgets only
			// idle flows, unless flushed or failed over.
			f.add("this host forwards packets and the segment came to an ephemeral port of its own address: a NAT mapping it no longer holds")
			return kernelVerdict{cause: IdleTimeout, sender: Middlebox, conf: 0.6,
				alts: []Alternative{{HalfOpen, 0.3}}}, true
		}
		return one(HalfOpen)
	case "TCP_FLAGS":
		if k.State == "LISTEN" {
			// A listener restarted on the port rejects the old connection's
			// ACK (tcp_rcv_state_process in LISTEN): the old socket is gone.
			return one(HalfOpen)
		}
		return one(InvalidSegment)
	case "INVALID_SYN":
		if k.State == "LISTEN" || k.State == "" {
			return one(AcceptQueueOverflow)
		}
		return one(InvalidSegment)
	case "TCP_TIMEWAIT_SOCKET":
		// tcp_timewait_state_process returns TCP_TW_RST only in the
		// FIN_WAIT2 substate: the application closed, the orphan waits as
		// a time-wait socket, and the peer sent new data (or a SYN inside
		// the window). A true TIME-WAIT answers stray segments with ACKs.
		if answered.Has(packet.SYN) && !answered.Has(packet.ACK) {
			return one(SYNConflict)
		}
		return one(DataAfterClose)
	case "TCP_ABORT_ON_DATA":
		return one(DataAfterClose)
	case "TCP_ABORT_ON_CLOSE":
		return one(UnreadDataClose)
	case "TCP_ABORT_ON_LINGER", "TCP_DISCONNECT_WITH_DATA":
		return one(ApplicationAbort)
	case "TCP_STATE":
		// tcp_disconnect: SO_LINGER 0 then close(), or inet_csk_listen_stop
		// disconnecting a child still in the accept queue when the listener
		// closes. Only the second leaves a connection whose server never
		// spoke after the handshake while the client's data waits.
		if f.role == Server && f.listenerQueued() {
			return kernelVerdict{cause: ListenerClosed, sender: Server, conf: 0.8,
				alts: []Alternative{{ApplicationAbort, 0.2}}}, true
		}
		return one(ApplicationAbort)
	case "TCP_KEEPALIVE_TIMEOUT":
		return one(IdleTimeout)
	case "TCP_INVALID_ACK_SEQUENCE":
		if k.State == "SYN_SENT" || f.c.SYNOnLive[f.ctx.Dir] {
			return one(SYNConflict)
		}
		return one(InvalidSegment)
	case "TCP_RFC7323_PAWS", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA", "TCP_OLD_ACK", "TCP_INVALID_SEQUENCE", "TCP_INVALID_SYN":
		return one(InvalidSegment)
	case "TCP_ABORT_ON_MEMORY":
		return one(ResourceExhaustion)
	}
	return kernelVerdict{}, false // NOT_SPECIFIED or a reason this build does not know: the wire decides
}

// netfilterVerdict: the host's packet filter built the reset
// (nf_send_reset), or a socket other than TCP's (raw, AF_PACKET) wrote it:
// a program on this host forging resets (tcpkill, an IPS). A source address
// that is not the host's own is a router forging an endpoint's address: the
// sender is a device in the path.
func (f *facts) netfilterVerdict(k *Kernel) kernelVerdict {
	v := kernelVerdict{cause: FirewallReject, sender: f.role, conf: kernelSure}
	if k.Path == KernelNetfilter {
		f.add("kernel: nf_send_reset built this reset (a reject with tcp reset rule)")
		// nf_send_reset answers a segment that carried ACK with a bare RST
		// (its sequence that ACK) and anything else with RST+ACK.
		midFlow := !f.ctx.RST.Flags.Has(packet.ACK)
		switch {
		case k.Conntrack == ConntrackNew && midFlow:
			// A stateful rule (ct state new/invalid, non-SYN) rejected a
			// segment of an established connection that conntrack met as a
			// new flow: it held no entry for it any more. Measured in the
			// lab's idle-timeout-conntrack (a 2 s established timeout);
			// the stateless rejects of the firewall-reject scenarios carry
			// no entry, or (NAT) a confirmed one.
			f.add("the rejected segment was mid-connection (it carried ACK), and conntrack on this host met it as a new flow: it held no entry for that established connection, which expired while idle (nf_conntrack_tcp_timeout_established) or was flushed")
			f.add("conntrack -S (insert_failed, drop) and the established timeout on this host; keepalives shorter than it keep the entry")
			// An ACK for a connection that never existed (nmap -sA, a
			// stray) is met as new too; the capture at the client tells.
			v.cause, v.conf = IdleTimeout, 0.8
			v.alts = []Alternative{{FirewallReject, 0.1}, {ScanProbe, 0.1}}
		case k.Conntrack == ConntrackKnown:
			f.add("conntrack on this host tracked the flow: a rule rejected a connection it knew")
		}
	} else {
		v.cause, v.conf = Injected, 0.8
		f.add("the reset left this host from a raw or packet socket, not from the TCP stack or a reject rule: a program forged it")
	}
	if !k.FromLocal {
		v.sender = Middlebox
		f.add("its source address is not this host's: this host answered for %s", f.role)
	}
	return v
}

// timeWaitLen is how long Linux holds TIME-WAIT (TCP_TIMEWAIT_LEN, 60 s):
// past it the peer that closed first has no socket either, and a reset
// ends nothing. Stacks with a longer 2*MSL (Windows: 240 s) are not
// counted past it; their resets read as before.
const timeWaitLen = 60 * time.Second

// listenerQueued: the server completed the handshake and never sent a byte
// or a FIN since, while the client's data (if any) went unacknowledged by
// anything but the handshake — a connection waiting in the accept queue.
func (f *facts) listenerQueued() bool {
	return f.s.Payload == 0 && !f.s.SawFIN && f.s.SawSYN
}

// ephemeralSender: the reset came from a port in the host's ephemeral
// range (a client's port, or a NAT's mapping of one).
func (f *facts) ephemeralSender() bool {
	p, r := f.s.Addr.Port(), f.ctx.EphemeralPorts
	return r[1] != 0 && p >= r[0] && p <= r[1]
}

// SentWithACK says whether Linux builds the reset it sends for reason with
// the ACK flag: tcp_send_active_reset (a close, a disconnect, a timer, a
// memory abort) always does; tcp_v4_send_reset and tcp_v6_send_reset,
// answering a segment, only when that segment had no ACK (a SYN), which
// answeredSYN says. known is false for a reason this does not cover.
func SentWithACK(reason string, answeredSYN bool) (ack, known bool) {
	switch reason {
	case "TCP_ABORT_ON_CLOSE", "TCP_ABORT_ON_LINGER", "TCP_ABORT_ON_MEMORY", "TCP_STATE",
		"TCP_KEEPALIVE_TIMEOUT", "TCP_DISCONNECT_WITH_DATA":
		return true, true
	case "NO_SOCKET", "TCP_FLAGS", "TCP_ABORT_ON_DATA", "TCP_TIMEWAIT_SOCKET", "INVALID_SYN", "TCP_OLD_ACK",
		"TCP_INVALID_ACK_SEQUENCE", "TCP_RFC7323_PAWS", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA":
		return answeredSYN, true
	}
	return false, false
}
