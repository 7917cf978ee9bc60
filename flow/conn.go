// Package flow tracks TCP connections in both directions: sequence space,
// options, the sender's identity on the wire, and Zeek's history and
// conn_state, in a table whose memory is bounded by idle expiry and a cap.
package flow

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rstscope/rstscope/packet"
)

// Conn is one TCP connection. Ep[FromOrig] is the originator.
//
// What every packet reads or writes comes first (the key, the clock, the
// list links), then the endpoints, whose own hot fields lead them (see
// Endpoint), then Zeek's state, then what only some packets touch: in
// declaration order as before, a packet touched about ten of the 1 480
// bytes' 24 cache lines (bench/README.md, "Third round").
type Conn struct {
	ID  uint64 // 1-based, in order of creation within a table
	Key Key

	// lastNS is Last() in Unix nanoseconds, kept because time.Time.Sub
	// (with its overflow check) was a tenth of the tracker's time on
	// bench/out/traffic.pcap. closeNS is when the connection closed
	// completely in Zeek's sense (ConnectionClosed with close_complete),
	// 0 while open: Zeek deletes it tcp_close_delay after this, and the
	// next packet on the 4-tuple starts a new connection.
	lastNS, closeNS int64

	prev, next *Conn     // the table's list, least recently active first
	list       *connList // which of the table's lists holds it
	tick       uint64    // when it last moved to the back of its list (Table.tick)

	// MaxGap is the longest silence between two packets of the connection,
	// and GapEnd the time the packet that ended it arrived.
	MaxGap time.Duration
	Resets uint32

	// Pending counts resets of this connection whose verdict still waits for
	// look-ahead; the analyzer owns it, the table only keeps the connection.
	Pending uint16
	VLAN    uint16
	Tunnels uint8
	// SYNSeen says the originator's SYN was captured, so Ep[FromOrig] is the client.
	SYNSeen bool
	// SYNOnLive is set for a side that sent a SYN with a new ISN while the
	// connection was still open: the start of a SYN conflict.
	SYNOnLive [2]bool
	// Flipped is set when roles were swapped after the first packet (Zeek's '^').
	Flipped bool

	Ep [2]Endpoint

	History History

	// Handshake timing: the originator's SYN, the responder's SYN-ACK and the
	// originator's ACK of it; zero when not seen.
	SYNTime, SYNACKTime, EstablishedTime time.Time
	GapEnd                               time.Time

	// LastReset notes, per direction, the latest reset already explained;
	// the analyzer owns it, the table only keeps it with the connection.
	LastReset [2]ResetNote
}

// Start is the time of the first packet.
func (c *Conn) Start() time.Time {
	a, b := c.Ep[0].First, c.Ep[1].First
	if b.IsZero() || (!a.IsZero() && a.Before(b)) {
		return a
	}
	return b
}

// Last is the time of the latest packet.
func (c *Conn) Last() time.Time {
	a, b := c.Ep[0].Last, c.Ep[1].Last
	if a.After(b) {
		return a
	}
	return b
}

// RTT estimates the round trip between the capture point and the two ends
// from the handshake; ok is false when the handshake was not seen.
func (c *Conn) RTT() (toResp, toOrig time.Duration, ok bool) {
	if c.SYNTime.IsZero() || c.SYNACKTime.IsZero() {
		return 0, 0, false
	}
	toResp = c.SYNACKTime.Sub(c.SYNTime)
	if !c.EstablishedTime.IsZero() {
		toOrig = c.EstablishedTime.Sub(c.SYNACKTime)
	}
	return toResp, toOrig, true
}

// attempt reports whether c is a connection attempt nobody answered: the
// originator sent only SYNs and the responder nothing (Zeek's AttemptTimer
// test).
func (c *Conn) attempt() bool {
	s := c.Ep[FromOrig].State
	return (s == SYNSent || s == SYNAckSent) && c.Ep[FromResp].State == Inactive
}

// Closed reports whether the connection is over on the wire: a reset was
// seen, or both sides sent FIN.
func (c *Conn) Closed() bool {
	return c.Ep[0].SawRST || c.Ep[1].SawRST || (c.Ep[0].SawFIN && c.Ep[1].SawFIN)
}

// finUnacked reports whether the connection closed with FINs, no reset, and
// a FIN its peer never acknowledged. Such a connection is not over: the
// FIN's sender retransmits it (RFC 9293 §3.10.4, the FIN occupies sequence
// space) and usually ends with a reset when it gives up or the peer
// answers from a socket that is gone. Public captures showed those
// retransmissions and the reset starting one-packet connections with
// client and server swapped when the table dropped the connection
// tcp_close_delay after the second FIN, so it stays on the open list and
// ends by idle expiry instead.
func (c *Conn) finUnacked() bool {
	if c.Ep[0].SawRST || c.Ep[1].SawRST {
		return false
	}
	for d := range c.Ep {
		e, peer := &c.Ep[d], &c.Ep[1-d]
		if e.SawFIN && (!peer.HasAck || peer.HighAck.LessThanEq(e.FINSeq)) {
			return true
		}
	}
	return false
}

// Update applies a packet from direction d. Call it after inspecting the
// connection's state before the packet, as the reset classifier does.
func (c *Conn) Update(p *packet.Packet, d Dir, ts time.Time, frame uint64, ipBytes int) {
	e, peer := &c.Ep[d], &c.Ep[d.Other()]
	tsNS := ts.UnixNano()
	if c.lastNS != 0 && time.Duration(tsNS-c.lastNS) > c.MaxGap {
		c.MaxGap, c.GapEnd = time.Duration(tsNS-c.lastNS), ts
	}
	if tsNS > c.lastNS {
		c.lastNS = tsNS
	}
	e.observe(p, ts, frame, ipBytes)
	seq := Seq(p.Seq)
	f := p.Flags

	switch {
	case f.Has(packet.RST):
		c.Resets++
		e.SawRST = true
		e.RSTTime = ts
	default:
		segLen := uint32(p.PayloadLen)
		if f.Has(packet.SYN) {
			segLen++
			if !e.SawSYN || e.ISN != seq {
				if e.HasSeq && !c.Closed() {
					c.SYNOnLive[d] = true
				}
				e.SawSYN, e.ISN, e.SYNOpt, e.SYNFlags = true, seq, p.Opt, f
				e.HasSeq, e.NextSeq = false, seq
			}
			if f.Has(packet.ACK) {
				if c.SYNACKTime.IsZero() && d == FromResp {
					c.SYNACKTime = ts
				}
			} else if c.SYNTime.IsZero() && d == FromOrig {
				c.SYNTime = ts
			}
		}
		if f.Has(packet.FIN) {
			segLen++
		}
		end := seq.Add(segLen)
		// The payload's bytes new to the stream: none for a
		// retransmission, those past NextSeq for one that carries new
		// bytes too, all of them after a hole.
		fresh, skip, hole := p.PayloadLen > 0, 0, false
		if first := seq.Add(flagLen(f, packet.SYN)); fresh && e.HasSeq {
			switch dataEnd := first.Add(uint32(p.PayloadLen)); {
			case !e.NextSeq.LessThan(dataEnd):
				fresh = false
			case first.LessThan(e.NextSeq):
				skip = int(e.NextSeq - first)
			case e.NextSeq.LessThan(first):
				hole = true
			}
		}
		switch {
		case !e.HasSeq:
			e.HasSeq, e.NextSeq = true, end
		case p.PayloadLen > 0 && end.LessThanEq(e.NextSeq):
			if p.PayloadLen <= 1 && end == e.NextSeq && !f.Has(packet.FIN) {
				// A probe carrying the last byte again: keepalive (RFC 9293 §3.8.4).
				e.keepalive(peer, ts)
			} else {
				e.retransmitted(ts)
			}
		case f.Has(packet.FIN) && e.SawFIN && end == e.NextSeq:
			e.retransmitted(ts) // the FIN again: its ACK never came
		case p.PayloadLen == 0 && !f.Has(packet.SYN) && !f.Has(packet.FIN) && end == e.NextSeq-1:
			e.keepalive(peer, ts)
		default:
			e.NextSeq = e.NextSeq.Max(end)
		}
		if f.Has(packet.FIN) && !e.SawFIN {
			e.SawFIN, e.FINSeq, e.FINTime = true, seq.Add(uint32(p.PayloadLen)), ts
		}
		if p.PayloadLen > 0 {
			if fresh {
				// Only bytes new to the stream are read: an old reply
				// retransmitted says nothing about the latest one.
				b := p.Payload[min(skip, len(p.Payload)):]
				if starts, isErr := errorReply(b); starts {
					e.ErrorReply = isErr
				}
				e.countMessages(b, p.PayloadLen-skip, !e.inFlight, hole)
				e.inFlight, peer.inFlight = true, false
			}
			e.Payload += uint64(p.PayloadLen)
			e.LastData = ts
			if peer.SawFIN {
				e.DataAfterFIN += uint64(p.PayloadLen)
			}
		}
		e.Window = p.Window
		e.LastOptLen = p.Opt.Len
		if p.Opt.HasTS {
			e.HasTS, e.LastTSVal = true, p.Opt.TSVal
		}
		if p.Window == 0 {
			e.ZeroWindow++
		}
	}
	if f.Has(packet.ACK) && !f.Has(packet.RST) {
		ack := Seq(p.Ack)
		if !e.HasAck || e.HighAck.LessThan(ack) {
			e.HighAck = ack
			peer.RetxRun = 0
		}
		e.HasAck = true
		if d == FromOrig && c.EstablishedTime.IsZero() && !c.SYNACKTime.IsZero() && !f.Has(packet.SYN) {
			c.EstablishedTime = ts
		}
	}
	c.zeekUpdate(p, d)
}

// String is a one-line description for debugging and evidence.
func (c *Conn) String() string {
	return fmt.Sprintf("%s -> %s %s %s", c.Ep[0].Addr, c.Ep[1].Addr, c.History.String(), c.ConnState())
}

// flagLen is 1 when f has flag (a SYN's or FIN's place in the sequence).
func flagLen(f, flag packet.Flags) uint32 {
	if f.Has(flag) {
		return 1
	}
	return 0
}

// keepalive records a keepalive probe from e; a run restarts whenever
// either side has sent data since the previous probe.
func (e *Endpoint) keepalive(peer *Endpoint, ts time.Time) {
	e.Keepalives++
	if e.KeepaliveRun == 0 || peer.LastData.After(e.KeepaliveLast) || e.LastData.After(e.KeepaliveLast) {
		e.KeepaliveRun, e.KeepaliveFrom, e.KeepaliveGap = 0, ts, 0
	} else {
		e.KeepaliveGap = ts.Sub(e.KeepaliveLast)
	}
	e.KeepaliveRun++
	e.KeepaliveLast = ts
}

// ProbeRun is how many probes e has sent since either side last sent data:
// KeepaliveRun, or 0 once data followed the run's last probe.
func (e *Endpoint) ProbeRun(peer *Endpoint) uint32 {
	if e.LastData.After(e.KeepaliveLast) || peer.LastData.After(e.KeepaliveLast) {
		return 0
	}
	return e.KeepaliveRun
}

// retransmitted counts a retransmission and extends the current run.
func (e *Endpoint) retransmitted(ts time.Time) {
	e.Retrans++
	if e.RetxRun == 0 {
		e.RetxFirst = ts
	}
	e.RetxRun++
}

// ResetNote records an explained reset: its frame, cause and sender.
type ResetNote struct {
	Frame  uint64
	Cause  string
	Sender string
	// Confidence is the verdict's, 0 where not kept (a compact attempt's
	// note).
	Confidence float32
	// Pending, when not nil, is the analyzer's handle on a verdict still
	// being made on another goroutine: it, not Cause, Sender and
	// Confidence, holds the verdict then.
	Pending any
}

// errorReply says whether a segment's payload begins a reply the
// classifier can read, and whether that reply is an error: an HTTP/1.x
// status line ("HTTP/1.1 413 "), a RESP reply (redis: "+OK", "-ERR
// max number of clients reached"), a memcached text reply ("ERROR Too
// many open connections", "SERVER_ERROR out of memory", "STORED") or a
// PostgreSQL backend message (an ErrorResponse whose severity is ERROR,
// FATAL or PANIC: postgres, pgbouncer). A server that refuses a request
// with an error and closes usually leaves the rest of it unread.
func errorReply(b []byte) (starts, isErr bool) {
	if len(b) == 0 {
		return false, false
	}
	// It runs on every data segment: a table of first bytes keeps the
	// other protocols' checks off the segments that cannot be theirs.
	if replyFirst[b[0]]&pgFirst != 0 {
		if starts, isErr, ok := pgMessage(b); ok {
			return starts, isErr
		}
	}
	if replyFirst[b[0]]&memcachedFirst != 0 {
		for _, r := range memcachedReplies {
			if len(b) >= len(r.prefix) && string(b[:len(r.prefix)]) == r.prefix {
				return true, r.isErr
			}
		}
	}
	switch {
	case len(b) >= 13 && string(b[:7]) == "HTTP/1." && b[8] == ' ' && b[12] == ' ' &&
		b[9] >= '1' && b[9] <= '5' && isDigit(b[10]) && isDigit(b[11]):
		return true, b[9] >= '4'
	case len(b) >= 4 && b[0] == '-' && b[1] >= 'A' && b[1] <= 'Z':
		// A RESP error: "-" and an upper-case error code ("ERR",
		// "WRONGTYPE", "NOAUTH", …) up to a space or the line's end.
		for i := 1; i < len(b); i++ {
			switch c := b[i]; {
			case c >= 'A' && c <= 'Z':
			case c == ' ' || c == '\r':
				return i >= 3, i >= 3
			default:
				return false, false
			}
		}
	case len(b) >= 3 && b[0] == '+' && b[1] >= 'A' && b[1] <= 'Z',
		len(b) >= 3 && (b[0] == ':' || b[0] == '$' || b[0] == '*') && (isDigit(b[1]) || b[1] == '-'):
		return true, false // a RESP reply that is not an error
	}
	return false, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// memcachedReplies are the text protocol's reply lines by their first
// word (memcached's protocol.txt): its three errors, and the others.
var memcachedReplies = []struct {
	prefix string
	isErr  bool
}{
	{"ERROR\r\n", true}, {"ERROR ", true}, {"CLIENT_ERROR ", true}, {"SERVER_ERROR ", true},
	{"STORED\r\n", false}, {"NOT_STORED\r\n", false}, {"EXISTS\r\n", false}, {"NOT_FOUND\r\n", false},
	{"DELETED\r\n", false}, {"TOUCHED\r\n", false}, {"END\r\n", false}, {"VALUE ", false}, {"VERSION ", false},
}

// replyFirst marks the bytes a PostgreSQL backend message (its type) or a
// memcached reply line can begin with.
var replyFirst = func() (t [256]uint8) {
	for _, c := range []byte(pgTypes) {
		t[c] |= pgFirst
	}
	for _, r := range memcachedReplies {
		t[r.prefix[0]] |= memcachedFirst
	}
	return t
}()

const (
	pgFirst = 1 << iota
	memcachedFirst
)

// pgTypes are the backend message types (PostgreSQL's protocol, "Message
// Formats"; E is ErrorResponse).
const pgTypes = "RSKZTDCI123nstNAGHWdcE"

// pgMessage reads a PostgreSQL backend message's frame: a type byte and a
// big-endian length that counts itself. An ErrorResponse ('E') is an error
// when its first field is the severity (S, or V: never localized) ERROR,
// FATAL or PANIC; the other backend message types begin a reply that is
// not. ok is false when b is not such a frame.
func pgMessage(b []byte) (starts, isErr, ok bool) {
	if len(b) < 5 || replyFirst[b[0]]&pgFirst == 0 {
		return false, false, false
	}
	n := binary.BigEndian.Uint32(b[1:5])
	if n < 4 || n > 1<<24 {
		return false, false, false
	}
	if b[0] != 'E' {
		// A frame that ends where the segment does, or goes on with
		// another frame's type: a message, not text that looks like one.
		return len(b) >= int(n)+1, false, len(b) >= int(n)+1
	}
	if len(b) < 6 || b[5] != 'S' && b[5] != 'V' {
		return false, false, false
	}
	for _, sev := range []string{"ERROR\x00", "FATAL\x00", "PANIC\x00"} {
		if len(b) >= 6+len(sev) && string(b[6:6+len(sev)]) == sev {
			return true, true, true
		}
	}
	return true, false, true // a notice-like 'E' with another severity
}
