package cause

import (
	"time"

	"github.com/rstscope/rstscope/packet"
)

// The rules in this file explain resets around the three-way handshake.

// scanPorts is how many distinct destination ports (of 64 buckets) one
// source must have sent SYNs to in the capture before its abandoned
// handshakes are read as probing: a browser or a client library opens
// connections to a handful of ports, a scanner to dozens. The truth
// harness' client, which probes 100 closed ports among 100 000 real
// connections, showed that ports alone also catch a busy client: a prober
// also carries data on fewer connections than it probed ports.
const scanPorts = 16

// minRTO is the shortest time after which a connecting kernel retransmits
// its SYN or gives up (Linux: TCP_TIMEOUT_INIT, 1 s).
const minRTO = time.Second

// matchConnectAbandoned: the SYN sender reset the SYN-ACK instead of
// completing the handshake. Its kernel had no socket for it any more
// (tcp_v4_rcv → NO_SOCKET: the connect() was given up — a timeout, happy
// eyeballs or a QUIC race won elsewhere), or it never had one (a SYN
// scanner): the RST carries the SYN-ACK's ack as its sequence.
func matchConnectAbandoned(f *facts) (Sender, float64, bool) {
	if !f.s.SawSYN || f.s.SYNFlags.Has(packet.ACK) || f.s.Payload > 0 || !f.hasPrior {
		return "", 0, false
	}
	if !f.prior.Flags.Has(packet.SYN|packet.ACK) || f.prior.Ack != f.s.ISN.Add(1) {
		return "", 0, false
	}
	if f.s.HasAck && f.s.HighAck == f.p.ISN.Add(1) {
		return "", 0, false // it had acknowledged the SYN-ACK: the handshake completed
	}
	delay := f.ctx.Time.Sub(f.prior.Time)
	f.add("%s sent the SYN, then reset %s's SYN-ACK %s after it arrived, without completing the handshake", f.role, f.peerRole, delay.Round(time.Microsecond))
	synAckWait := f.prior.Time.Sub(f.c.SYNTime)
	if !f.c.SYNTime.IsZero() && synAckWait > time.Second {
		f.add("the SYN-ACK came %s after the SYN: the connect() had likely timed out", synAckWait.Round(time.Millisecond))
	}
	// A SYN-ACK that came back within the first retransmission timeout
	// (Linux's initial RTO is 1 s, RFC 6298 §2) found no socket: either the
	// application gave up within one round trip (a browser whose QUIC or
	// other-address attempt won), or no socket ever existed — a raw-socket
	// prober, whose SYN carries at most an MSS option where every stack's
	// connect() sends MSS, SACK, timestamps and window scale. On the truth
	// harness the abandoned connects' SYN-ACKs came after 1.0–1.1 s (the
	// first ones were dropped until the sender closed); the scanner's came
	// within a millisecond, for a SYN without options.
	prompt := !f.c.SYNTime.IsZero() && synAckWait < minRTO
	bareSYN := f.s.SYNOpt.Len <= 4
	// The address's probing elsewhere in the capture supports it, but
	// alone it also catches a busy client early in a capture (the small
	// truth run: 25 abandoned connects called scans before the client's
	// first connections had finished).
	if h := f.ctx.SenderHost; bareSYN && (prompt || h.SYNPorts >= scanPorts && h.Talked < h.SYNPorts) {
		if prompt {
			f.add("the SYN-ACK came %s after a SYN with %d bytes of options, before any connect() gives up: no socket was waiting for it, as with a SYN scanner", synAckWait.Round(time.Microsecond), f.s.SYNOpt.Len)
		}
		if h.SYNPorts >= scanPorts {
			f.add("%s sent SYNs to at least %d distinct ports in this capture and carried data on %d connections", f.s.Addr.Addr(), h.SYNPorts, h.Talked)
		}
		// 480 of 480 such resets on the truth harness were its scanner's.
		f.cause = ScanProbe
		f.alt(ConnectAbandoned, 0.1)
		return f.role, 0.9, true
	}
	f.cause = ConnectAbandoned
	if prompt {
		f.add("the SYN-ACK came %s after the SYN: the application gave up within a round trip (another address or protocol won the race)", synAckWait.Round(time.Microsecond))
		f.alt(ScanProbe, 0.3)
		return f.role, 0.7, true
	}
	f.alt(ScanProbe, 0.1)
	return f.role, 0.9, true
}

// matchClosedPort: a SYN answered by RST+ACK with ack = SYN+1, sequence 0
// and no SYN-ACK, as tcp_v4_send_reset answers a SYN with no listener.
func matchClosedPort(f *facts) (Sender, float64, bool) {
	if !f.answersSYN {
		return "", 0, false
	}
	f.add("answers %s's SYN (ack %d = ISN+1) with no SYN-ACK", f.peerRole, f.ctx.RST.Ack)
	f.add("a reject rule on the server host itself sends the very same reset")
	if f.s.Resets > 0 {
		f.add("repeated for a retried SYN")
	}
	f.alt(FirewallReject, 0.1)
	return f.role, 0.9, true
}

// matchSYNConflict: the sender's new SYN on a live 4-tuple drew an ACK for
// the old connection (a challenge ACK, RFC 5961 §4), which it resets.
func matchSYNConflict(f *facts) (Sender, float64, bool) {
	if !f.c.SYNOnLive[f.ctx.Dir] || !f.hasPrior || f.prior.Flags.Has(packet.SYN) {
		return "", 0, false
	}
	if f.prior.Ack == f.s.ISN.Add(1) {
		return "", 0, false // a real SYN-ACK: not a conflict
	}
	f.add("%s sent a new SYN (ISN %d) on a 4-tuple %s still held", f.role, f.s.ISN, f.peerRole)
	f.add("%s answered with an ACK for the old connection (ack %d), which %s reset", f.peerRole, f.prior.Ack, f.role)
	return f.role, 0.85, true
}

// synAckRetry is TCP_TIMEOUT_INIT (include/net/tcp.h), when a listener
// that dropped a handshake's last ACK sends its SYN-ACK again.
const synAckRetry = time.Second

// matchAcceptQueueOverflow: the server resets right after the handshake
// completed, before sending any data, in the no-socket shape: the listener
// dropped the child because its accept queue was full (tcp_check_req with
// tcp_abort_on_overflow=1).
func matchAcceptQueueOverflow(f *facts) (Sender, float64, bool) {
	if f.role != Server || f.s.Payload > 0 || f.s.SawFIN || !f.s.SawSYN || !f.p.SawSYN || !f.ctlShape {
		return "", 0, false
	}
	if !f.p.HasAck || f.p.HighAck != f.s.ISN.Add(1) || !f.hasPrior {
		return "", 0, false
	}
	if f.s.HasAck && f.p.ISN.Add(1).LessThan(f.s.HighAck) {
		// The server acknowledged the client's data: a socket held the
		// connection, where an overflowing listener drops or refuses the
		// handshake's last ACK (zeek tcp__rst-inject-rae.pcap frames 6-7,
		// judged by hand, had been called an overflow at 0.7).
		return "", 0, false
	}
	// The listener answers the handshake's final ACK, or the first data
	// riding with it, at once (tcp_check_req): the peer has sent nothing else.
	if f.p.Payload != uint64(f.prior.PayloadLen) || f.ctx.Time.Sub(f.prior.Time) > promptly(f.c) {
		return "", 0, false
	}
	if !f.c.EstablishedTime.IsZero() && f.ctx.Time.Sub(f.c.EstablishedTime) >= synAckRetry {
		// An overflowing listener answers the handshake's last ACK at once
		// (tcp_abort_on_overflow) or drops it and sends its SYN-ACK again
		// after TCP_TIMEOUT_INIT; a server silent for longer than that,
		// whose reset answers the client's first data, had no such
		// listener: bench/realtruth apache-graceful-stop-download, seed 6
		// (a starved client writing 1.7 s after the handshake, apache gone
		// after graceful-stop: NO_SOCKET), 21 resets called an overflow at
		// 0.7.
		return "", 0, false
	}
	f.add("the server reset the connection after completing the handshake, before sending any data")
	f.add("window 0 and no options: sent by the listener, not by an accepted socket")
	return Server, 0.7, true
}
