package truth

import "github.com/rstscope/rstscope/cause"

// Truth is what the kernel's account allows for one reset.
type Truth struct {
	// Row names the table row that decided, e.g. "TCP_STATE/listener-closed".
	Row string
	// Allowed are the causes a right finding may name; empty means the
	// kernel's account settles nothing (the reset is not scored). The first
	// is the one the scenario was made to show: recall counts under it.
	Allowed []cause.ID
}

// Allows reports whether id is one of the allowed causes.
func (t Truth) Allows(id cause.ID) bool {
	for _, a := range t.Allowed {
		if a == id {
			return true
		}
	}
	return false
}

func allow(row string, ids ...cause.ID) Truth { return Truth{Row: row, Allowed: ids} }

// realKinds maps a kind of the real-software test set (bench/realtruth) to
// the harness kind it is, for the rows below where the scenario decides
// because the reason cannot: redis stopped and killed with connections in
// its accept queue is a listener closing them (inet_csk_listen_stop), which
// prints TCP_STATE as an SO_LINGER 0 close does. redis sets no SO_LINGER,
// so on that instance every TCP_STATE is the listener's.
//
// memcached-hung-restart is the same with memcached (its sockets' SO_LINGER
// is {0, 0}, off, so its TCP_STATE too is the listener's).
var realKinds = map[string]string{"redis-restart-queued": "listener-closed", "memcached-hung-restart": "listener-closed"}

// kernelTruth is the scorer's table: from a tcp_send_reset event's reason
// and state, the segment the resetter answered (from the capture) and, where
// the reason alone cannot tell, the scenario kind, to the causes a right
// verdict may name. It is written from the kernel's code (Linux 6.18,
// include/net/rstreason.h and the callers named in each row), not from
// cause/'s rules, so the two can disagree.
func kernelTruth(reason, state, answered, kind string) Truth {
	if k, ok := realKinds[kind]; ok {
		kind = k
	}
	switch reason {
	case "NO_SOCKET":
		// tcp_v4_rcv / tcp_v6_rcv found no socket for the segment
		// (no_tcp_socket: → tcp_v4_send_reset(NULL, skb, SK_RST_REASON_NO_SOCKET)).
		// What was answered says why there was none.
		switch answered {
		case "SYN":
			// A SYN to a port with no listener. A scan probe looks the same
			// on the wire; only the sender's intent (the scenario) tells.
			if kind == "scan" {
				return allow("NO_SOCKET/SYN/scan", cause.ScanProbe, cause.ClosedPort)
			}
			return allow("NO_SOCKET/SYN", cause.ClosedPort)
		case "SYN-ACK":
			// A SYN scanner sends its SYN from a raw socket: no socket
			// ever held the port, and the SYN-ACK of an open port finds
			// none. Only the scenario tells a scan from an abandoned
			// attempt (below); the wire differs (no retransmitted
			// SYN-ACK before the reset).
			if kind == "scan" {
				return allow("NO_SOCKET/SYN-ACK/scan", cause.ScanProbe)
			}
			// The SYN sender's socket is gone: close() in SYN-SENT sends
			// nothing (tcp_close_state: SYN_SENT → CLOSE; tcp_need_reset
			// leaves SYN-SENT out), so the SYN-ACK that comes later finds
			// no socket. The sender abandoned its attempt.
			if kind == "scan" {
				// A SYN scanner never had a socket: the same reset, by intent.
				return allow("NO_SOCKET/SYN-ACK/scan", cause.ScanProbe, cause.ConnectAbandoned)
			}
			return allow("NO_SOCKET/SYN-ACK", cause.ConnectAbandoned)
		}
		// A segment of a connection the resetter no longer has. Why it is
		// gone the reason cannot say; where the scenario made the server
		// give it up after unanswered retransmissions (tcp_write_timeout →
		// tcp_write_err, no reset of its own), that is the cause too.
		if kind == "vanish-retrans" {
			return allow("NO_SOCKET/mid-connection/vanish-retrans", cause.RetransmissionTimeout, cause.HalfOpen)
		}
		return allow("NO_SOCKET/mid-connection", cause.HalfOpen)
	case "TCP_STATE":
		// tcp_disconnect() → tcp_send_active_reset(…, SK_RST_REASON_TCP_STATE),
		// reached from __tcp_close() for SO_LINGER {1,0} with nothing unread
		// (net/ipv4/tcp.c: "Check zero linger _after_ checking for unread
		// data") and from inet_csk_listen_stop() → inet_child_forget() for
		// every child still in a closing listener's accept queue. The two
		// print the same state (TCP_CLOSE, set before the reset): only the
		// scenario says whether an application held the socket.
		if kind == "listener-closed" {
			return allow("TCP_STATE/listener-closed", cause.ListenerClosed)
		}
		return allow("TCP_STATE", cause.ApplicationAbort)
	case "TCP_ABORT_ON_CLOSE":
		// __tcp_close(): data_was_unread → tcp_send_active_reset(…,
		// SK_RST_REASON_TCP_ABORT_ON_CLOSE); checked before SO_LINGER, so a
		// zero-linger close with unread data lands here too (RFC 2525 §2.17).
		return allow("TCP_ABORT_ON_CLOSE", cause.UnreadDataClose)
	case "TCP_ABORT_ON_DATA":
		// tcp_rcv_state_process(), FIN_WAIT1/FIN_WAIT2 after shutdown or
		// close: new data arrived for a socket that will read no more.
		return allow("TCP_ABORT_ON_DATA", cause.DataAfterClose)
	case "TCP_TIMEWAIT_SOCKET":
		// tcp_v4_rcv: tcp_timewait_state_process() returned TCP_TW_RST. It
		// does so only in the FIN_WAIT2 substate (the closer sent its FIN,
		// the peer has not): new data after the half-duplex close, or a
		// SYN inside the window. A true TIME-WAIT answers with ACKs, never
		// a reset, so time-wait-assassination is not allowed here.
		if answered == "SYN" {
			return allow("TCP_TIMEWAIT_SOCKET/SYN", cause.SYNConflict, cause.DataAfterClose)
		}
		return allow("TCP_TIMEWAIT_SOCKET", cause.DataAfterClose)
	case "TCP_KEEPALIVE_TIMEOUT":
		// tcp_keepalive_timer(): the probes went unanswered (or
		// TCP_USER_TIMEOUT passed while idle).
		return allow("TCP_KEEPALIVE_TIMEOUT", cause.IdleTimeout)
	case "TCP_ABORT_ON_LINGER":
		// tcp_close() with TCP_LINGER2 < 0, or the FIN_WAIT2 orphan timer
		// (tcp_fin_timeout): the application's own linger choice.
		return allow("TCP_ABORT_ON_LINGER", cause.ApplicationAbort)
	case "TCP_DISCONNECT_WITH_DATA":
		return allow("TCP_DISCONNECT_WITH_DATA", cause.ApplicationAbort)
	case "TCP_ABORT_ON_MEMORY":
		// tcp_out_of_resources(): orphans or memory over the limit.
		return allow("TCP_ABORT_ON_MEMORY", cause.ResourceExhaustion)
	case "INVALID_SYN":
		// tcp_check_req(): listen_overflow with tcp_abort_on_overflow=1, or
		// embryonic_reset for a segment a request socket cannot take.
		if state == "TCP_LISTEN" && answered != "SYN" {
			return allow("INVALID_SYN/LISTEN", cause.AcceptQueueOverflow)
		}
		return allow("INVALID_SYN", cause.InvalidSegment, cause.SYNConflict)
	case "TCP_FLAGS":
		// tcp_rcv_state_process() in LISTEN: an ACK-bearing segment reached
		// a listener that has no connection for it (tcp_v4_do_rcv resets
		// on its return 1): the resetter lost the connection; its port is
		// listening again (a restarted service).
		if state == "TCP_LISTEN" {
			// As for NO_SOCKET mid-connection: the server gave the
			// connection up after unanswered retransmissions.
			if kind == "vanish-retrans" {
				return allow("TCP_FLAGS/LISTEN/vanish-retrans", cause.RetransmissionTimeout, cause.HalfOpen)
			}
			if kind == "listener-closed" {
				return allow("TCP_FLAGS/LISTEN/listener-closed", cause.HalfOpen, cause.ListenerClosed)
			}
			return allow("TCP_FLAGS/LISTEN", cause.HalfOpen)
		}
		return allow("TCP_FLAGS", cause.InvalidSegment)
	case "TCP_INVALID_ACK_SEQUENCE":
		// tcp_rcv_synsent_state_process(): an ACK outside the SYN's in
		// SYN-SENT — the challenge ACK of a peer that still holds the
		// 4-tuple (RFC 5961 §4) — or tcp_validate_incoming elsewhere.
		if state == "TCP_SYN_SENT" {
			return allow("TCP_INVALID_ACK_SEQUENCE/SYN_SENT", cause.SYNConflict)
		}
		return allow("TCP_INVALID_ACK_SEQUENCE", cause.InvalidSegment)
	case "TCP_RFC7323_PAWS", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA", "TCP_OLD_ACK":
		// tcp_validate_incoming() / tcp_ack() rejected the segment.
		return allow(reason, cause.InvalidSegment)
	}
	// NOT_SPECIFIED and anything newer: the kernel does not say.
	return Truth{Row: reason}
}
