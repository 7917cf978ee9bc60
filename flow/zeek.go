package flow

import "github.com/rstscope/rstscope/packet"

// EndpointState is Zeek's per-endpoint TCP state (TCP_Endpoint.h), from
// which conn_state is derived.
type EndpointState uint8

// Zeek's endpoint states, in its enum order.
const (
	Inactive EndpointState = iota
	SYNSent
	SYNAckSent
	Partial
	Established
	Closed
	Reset
)

var endpointStateNames = [...]string{"INACTIVE", "SYN_SENT", "SYN_ACK_SENT", "PARTIAL", "ESTABLISHED", "CLOSED", "RESET"}

func (s EndpointState) String() string {
	if int(s) < len(endpointStateNames) {
		return endpointStateNames[s]
	}
	return "?"
}

// History is Zeek's history string: one letter per event, upper case for
// the originator, lower case for the responder (base/protocols/conn/main.zeek).
// It is a fixed array so a Conn stays one allocation; Zeek's letters mostly
// appear once per side, so 40 bytes hold every real history.
type History struct {
	b [40]byte
	n uint8
	// seen has one bit per (letter, direction) already recorded.
	seen uint64
	// counts for letters Zeek repeats at 1, 10, 100... events (t, w, c, g).
	retrans, zeroWin          [2]uint32
	lastSYN, lastFIN, lastRST [2]Seq
}

func (h *History) String() string { return string(h.b[:h.n]) }

func (h *History) add(c byte) {
	if int(h.n) < len(h.b) {
		h.b[h.n] = c
		h.n++
	}
}

// letter adds c (upper case) for direction d; it reports whether the
// letter had already been recorded for d.
func (h *History) letter(c byte, d Dir, always bool) (already bool) {
	bit := uint64(1) << (uint(c-'A')*2 + uint(d))
	already = h.seen&bit != 0
	if !already || always {
		h.seen |= bit
		if d == FromResp {
			c += 'a' - 'A'
		}
		h.add(c)
	}
	return already
}

// thresh adds c each time count reaches 1, 10, 100, ... (Zeek's HistoryThresh).
func (h *History) thresh(c byte, d Dir, count uint32) {
	for t := uint32(1); t <= count && t != 0; t *= 10 {
		if count == t {
			if d == FromResp {
				c += 'a' - 'A'
			}
			h.add(c)
			return
		}
	}
}

// zeekUpdate applies Zeek's per-packet history letters and endpoint state
// machine (TCP.cc: update_history, TCPSessionAdapter::UpdateStateMachine).
func (c *Conn) zeekUpdate(p *packet.Packet, d Dir, retrans bool) {
	h := &c.History
	f := p.Flags
	seq := Seq(p.Seq)
	bits := 0
	for _, x := range [...]packet.Flags{packet.SYN, packet.FIN, packet.RST} {
		if f.Has(x) {
			bits++
		}
	}
	switch {
	case bits > 1:
		if f.Has(packet.FIN | packet.RST) {
			h.letter('I', d, false)
		} else {
			h.letter('Q', d, false)
		}
	case f.Has(packet.SYN):
		code := byte('S')
		if f.Has(packet.ACK) {
			code = 'H'
		}
		if h.letter(code, d, false) && seq != h.lastSYN[d] {
			h.letter(code, d, true)
		}
		h.lastSYN[d] = seq
	case f.Has(packet.FIN):
		end := seq.Add(uint32(p.PayloadLen))
		if h.letter('F', d, false) && end != h.lastFIN[d] {
			h.letter('F', d, true)
		}
		h.lastFIN[d] = end
	case f.Has(packet.RST):
		if h.letter('R', d, false) && seq != h.lastRST[d] {
			h.letter('R', d, true)
		}
		h.lastRST[d] = seq
	case p.PayloadLen > 0:
		h.letter('D', d, false)
	case f.Has(packet.ACK):
		h.letter('A', d, false)
	}
	if retrans {
		h.retrans[d]++
		h.thresh('T', d, h.retrans[d])
	}
	if p.Window == 0 && !f.Has(packet.RST) && !f.Has(packet.SYN) {
		h.zeroWin[d]++
		h.thresh('W', d, h.zeroWin[d])
	}

	e, peer := &c.Ep[d], &c.Ep[d.Other()]
	switch {
	case f.Has(packet.RST):
		e.State = Reset
	case f.Has(packet.FIN):
		if e.State == Inactive {
			e.State = Partial
		}
		e.State = Closed
	case f.Has(packet.SYN):
		if e.State == Inactive {
			if f.Has(packet.ACK) {
				e.State = SYNAckSent
				if peer.State == SYNSent {
					// The SYN-ACK answers the peer's SYN; Zeek moves both on the final ACK.
				}
			} else {
				e.State = SYNSent
			}
		}
	default:
		switch e.State {
		case Inactive:
			e.State = Partial
		case SYNSent, SYNAckSent:
			if f.Has(packet.ACK) && (peer.State == SYNAckSent || peer.State == SYNSent || peer.State == Established) {
				e.State = Established
				if peer.State == SYNAckSent || peer.State == SYNSent {
					peer.State = Established
				}
			} else if p.PayloadLen > 0 {
				e.State = Partial
			}
		}
	}
}

// ConnState returns Zeek's conn_state (base/protocols/conn/main.zeek).
func (c *Conn) ConnState() string {
	os, rs := c.Ep[FromOrig].State, c.Ep[FromResp].State
	oInactive := os == Inactive || os == Partial
	rInactive := rs == Inactive || rs == Partial
	switch {
	case rs == Reset:
		if os == SYNSent || os == SYNAckSent ||
			(os == Reset && c.Ep[FromOrig].Size(c.startSeq(FromOrig)) == 0 && c.Ep[FromResp].Size(c.startSeq(FromResp)) == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == Reset:
		if rInactive {
			if c.historyRSTOS0() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == Closed && os == Closed:
		return "SF"
	case os == Closed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == Closed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == SYNSent && rs == Inactive:
		return "S0"
	case os == Established && rs == Established:
		return "S1"
	}
	return "OTH"
}

// historyRSTOS0 matches Zeek's /\^?S[^HAFGIQ]*R.*/ against the history.
func (c *Conn) historyRSTOS0() bool {
	s := c.History.b[:c.History.n]
	if len(s) > 0 && s[0] == '^' {
		s = s[1:]
	}
	if len(s) == 0 || s[0] != 'S' {
		return false
	}
	for _, ch := range s[1:] {
		switch ch {
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		case 'R':
			return true
		}
	}
	return false
}

// startSeq is where a side's byte count starts: after its SYN, or at the
// first sequence number seen.
func (c *Conn) startSeq(d Dir) Seq {
	e := &c.Ep[d]
	if e.SawSYN {
		return e.ISN.Add(1)
	}
	return e.firstSeq
}

// Bytes returns the payload bytes each side sent by sequence space, as Zeek's
// orig_bytes and resp_bytes count them.
func (c *Conn) Bytes() (orig, resp uint64) {
	return c.Ep[FromOrig].Size(c.startSeq(FromOrig)), c.Ep[FromResp].Size(c.startSeq(FromResp))
}
