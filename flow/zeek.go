package flow

import (
	"github.com/rstscope/rstscope/packet"
)

// This file ports what Zeek's TCP analysis does per packet, so that
// conn_state, history and orig_bytes/resp_bytes read as Zeek's conn.log
// would. References are to zeek/zeek:
//
//   - src/packet_analysis/protocol/tcp/TCP.cc (TCPAnalyzer::DeliverPacket,
//     init_endpoint, init_peer, update_history, update_window,
//     update_ack_seq, update_last_seq, WantConnection)
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc (formerly
//     src/analyzer/protocol/tcp/TCP.cc: UpdateStateMachine and its
//     Update*State helpers, ConnectionClosed, IsReuse, SetPartialStatus)
//   - src/analyzer/protocol/tcp/TCP_Endpoint.cc (Size, CheckHistory,
//     DidRxmit, ZeroWindow, Gap)
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc (AckReceived,
//     Undelivered, Gap and its "cleanly established" test)
//   - scripts/base/protocols/conn/main.zeek (conn_state, history letters)
//
// Only what changes those three fields is ported: no weirds, events or
// content delivery. The one reassembly detail kept is where contiguous
// data ends, which is what decides Zeek's content-gap letter 'G'.

// EndpointState is Zeek's per-endpoint TCP state (TCP_Endpoint.h), from
// which conn_state is derived.
type EndpointState uint8

// Zeek's endpoint states, in its enum order.
const (
	Inactive    EndpointState = iota // nothing sent yet
	SYNSent                          // sent a SYN (or, as originator, a SYN-ACK)
	SYNAckSent                       // the originator sent a SYN-ACK first
	Partial                          // first seen mid-connection, no SYN
	Established                      // handshake seen from this side
	Closed                           // sent a FIN
	Reset                            // sent a RST
)

var endpointStateNames = [...]string{"INACTIVE", "SYN_SENT", "SYN_ACK_SENT", "PARTIAL", "ESTABLISHED", "CLOSED", "RESET"}

func (s EndpointState) String() string {
	if int(s) < len(endpointStateNames) {
		return endpointStateNames[s]
	}
	return "?"
}

// handshake reports whether s is one of Zeek's handshake states
// (TCP_Endpoint.cc is_handshake).
func (s EndpointState) handshake() bool { return s == Inactive || s == SYNSent || s == SYNAckSent }

// History is Zeek's history string: one letter per event, upper case for
// the originator, lower case for the responder (base/protocols/conn/main.zeek).
// It also carries the rest of Zeek's per-endpoint bookkeeping the letters,
// conn_state and byte counts depend on. It is a fixed-size value so a Conn
// stays one allocation; 40 letters hold every real history (Zeek's letters
// mostly appear once per side, the counted ones logarithmically).
type History struct {
	b [40]byte
	n uint8
	// seen is Zeek's hist_seen: one bit per packet kind, the originator's
	// in the low 16 bits, the responder's in the high 16 (Conn.h HIST_*).
	seen uint32
	// partial is TCPSessionAdapter::is_partial: a side's first packet was
	// not a plain SYN (the originator's) or not a SYN (the responder's).
	partial bool
	z       [2]zeekEndpoint
}

// zeekEndpoint is the part of Zeek's TCP_Endpoint beyond its state, which
// lives in Endpoint.State. Sequence numbers are absolute; "relative" ones
// count from start as Zeek's do (the SYN is 0, the first data byte 1).
type zeekEndpoint struct {
	start, last, ack Seq // StartSeq, LastSeq, AckSeq
	prev             EndpointState
	didClose         bool
	firstSeen        bool // first_packet_seen for this side
	finCnt           uint32
	finSeq           uint32 // relative sequence just past the FIN
	histSYN, histFIN uint32 // hist_last_SYN, hist_last_FIN (relative)
	histRST          uint32 // hist_last_RST (relative)
	rxmt, rxmtThresh uint32 // 'T': retransmissions
	win0, win0Thresh uint32 // 'W': zero windows
	gap, gapThresh   uint32 // 'G': content gaps
	// The reassembler's view (TCP_Reassembler): data delivered in order up
	// to reassem, acknowledgments trimmed up to trim, and at most one block
	// held above a hole, [oooLo, oooHi). All relative.
	reassem, trim uint32
	oooLo, oooHi  uint32
}

// Zeek's history bits (Conn.h).
const (
	histSYN      = 0x1
	histFIN      = 0x2
	histRST      = 0x4
	histFINRST   = 0x8
	histData     = 0x10
	histACK      = 0x20
	histMultiFlg = 0x40
)

// tooLargeSeqDelta is TCP.cc's TOO_LARGE_SEQ_DELTA: SYN and RST sequence
// numbers further than this from what was seen are not trusted.
const tooLargeSeqDelta = 1048576

func (h *History) String() string { return string(h.b[:h.n]) }

func (h *History) add(c byte) {
	if int(h.n) < len(h.b) {
		h.b[h.n] = c
		h.n++
	}
}

// addDir adds c (upper case) for direction d (TCP_Endpoint::AddHistory).
func (h *History) addDir(c byte, d Dir) {
	if d == FromResp {
		c += 'a' - 'A'
	}
	h.add(c)
}

// check is Connection::CheckHistory via TCP_Endpoint::CheckHistory: the
// first packet of a kind from a side adds its letter; it reports whether
// the kind had been seen before.
func (h *History) check(mask uint32, c byte, d Dir) bool {
	if d == FromResp {
		mask <<= 16
	}
	if h.seen&mask != 0 {
		return true
	}
	h.seen |= mask
	h.addDir(c, d)
	return false
}

// scaled is Connection::ScaledHistoryEntry: the letter is added when the
// count reaches 1, 10, 100, ...
func (h *History) scaled(c byte, d Dir, count, thresh *uint32) {
	*count++
	if *thresh == 0 {
		*thresh = 1
	}
	if *count == *thresh {
		h.addDir(c, d)
		*thresh *= 10
	}
}

// zeekUpdate applies one packet from direction d as TCPAnalyzer::DeliverPacket
// does, in its order. It runs after the rest of Conn.Update; Zeek's 'T'
// follows update_last_seq, not the tracker's own retransmission count.
func (c *Conn) zeekUpdate(p *packet.Packet, d Dir) {
	h := &c.History
	f := p.Flags
	e, peer := &c.Ep[d], &c.Ep[d.Other()]
	z, pz := &h.z[d], &h.z[d.Other()]
	isOrig := d == FromOrig
	seq, ack := Seq(p.Seq), Seq(p.Ack)
	length := p.PayloadLen

	// SetPartialStatus.
	if isOrig {
		if !z.firstSeen {
			h.partial = !f.Has(packet.SYN) || f.Has(packet.ACK)
		}
	} else if !z.firstSeen && !h.partial {
		h.partial = !f.Has(packet.SYN)
	}

	// get_segment_len: SYN and FIN take a sequence number; a RST's payload
	// is not part of the stream.
	segLen := uint32(length)
	if f.Has(packet.SYN) {
		segLen++
	}
	if f.Has(packet.FIN) {
		segLen++
	}
	if f.Has(packet.RST) {
		segLen -= uint32(length)
	}
	past := seq.Add(segLen)

	c.zeekInitEndpoint(d, f, seq, past)
	relSeq := uint32(seq - z.start)
	underflow := seq.LessThan(z.start)

	h.updateHistory(f, d, z, relSeq, length)

	// update_window: a zero window counts unless it rides a RST, comes
	// after the peer's FIN or after this side's RST.
	if p.Window == 0 && !f.Has(packet.RST) && peer.State != Closed && e.State != Reset {
		h.scaled('W', d, &z.win0, &z.win0Thresh)
	}
	if f.Has(packet.FIN) {
		z.finCnt++
		z.finSeq = relSeq + segLen
	}

	var relAck uint32
	if f.Has(packet.ACK) {
		if peer.State == Inactive {
			// init_peer: number the silent side as if its SYN had been seen.
			relAck = 1
			pz.start, pz.ack, pz.last = ack-1, ack-1, ack-1
		} else if ack.LessThan(pz.start) {
			relAck = 0 // TCP_ack_underflow_or_misorder
		} else {
			relAck = uint32(ack - pz.start)
			if !f.Has(packet.RST) { // acks in RSTs are not trusted
				// update_ack_seq
				delta := ack.Sub(pz.ack)
				if !(ack == 0 && delta > tooLargeSeqDelta) && delta > 0 {
					pz.ack = ack
				}
			}
		}
	}

	// update_last_seq, with Zeek's retransmission letter.
	deltaLast := past.Sub(z.last)
	switch {
	case (f.Has(packet.SYN) || f.Has(packet.RST)) && (deltaLast > tooLargeSeqDelta || deltaLast < -tooLargeSeqDelta):
	case f.Has(packet.FIN) && z.last == z.start.Add(1):
		z.last = past
	case e.State == Reset:
	case deltaLast > 0:
		z.last = past
	case length > 0:
		h.scaled('T', d, &z.rxmt, &z.rxmtThresh)
	}

	doClose := c.zeekStateMachine(p, d, seq, length)

	if f.Has(packet.ACK) {
		c.zeekAckReceived(d.Other(), relAck)
	}
	z.firstSeen = true

	// DataSent: only payload captured in full reaches the reassembler.
	if length > 0 && len(p.Payload) >= length && !f.Has(packet.RST) && !underflow {
		rel := relSeq
		if f.Has(packet.SYN) {
			rel++
		}
		z.dataSent(rel, uint32(length), uint32(z.ack-z.start))
	}

	if doClose {
		c.zeekConnectionClosed(d)
	}
}

// zeekInitEndpoint is TCP.cc init_endpoint: a side's sequence numbering
// starts at its SYN, or one before its first segment when the SYN was not
// seen; a SYN later in the connection restarts it.
func (c *Conn) zeekInitEndpoint(d Dir, f packet.Flags, seq, past Seq) {
	e, z := &c.Ep[d], &c.History.z[d]
	restart := func() { z.start, z.ack, z.last = seq, seq, past }
	switch e.State {
	case Inactive:
		if f.Has(packet.SYN) {
			z.start, z.ack = seq, seq
		} else {
			z.start, z.ack = seq-1, seq-1
			past = seq // the first packet must not look like a retransmission
		}
		z.last = past
	case SYNSent, SYNAckSent:
		if f.Has(packet.SYN) && seq != z.start {
			restart()
		}
	case Established, Partial:
		if f.Has(packet.SYN) {
			restart()
		}
	case Reset:
		if f.Has(packet.SYN) && z.prev == Inactive {
			restart()
		}
	}
}

// updateHistory is TCP.cc update_history.
func (h *History) updateHistory(f packet.Flags, d Dir, z *zeekEndpoint, relSeq uint32, length int) {
	bits := 0
	for _, x := range [...]packet.Flags{packet.SYN, packet.FIN, packet.RST} {
		if f.Has(x) {
			bits++
		}
	}
	switch {
	case bits > 1:
		if f.Has(packet.FIN | packet.RST) {
			h.check(histFINRST, 'I', d)
		} else {
			h.check(histMultiFlg, 'Q', d)
		}
	case f.Has(packet.SYN):
		code := byte('S')
		if f.Has(packet.ACK) {
			code = 'H'
		}
		if h.check(histSYN, code, d) && relSeq != z.histSYN {
			h.addDir(code, d)
		}
		z.histSYN = relSeq
	case f.Has(packet.FIN):
		// A FIN's sequence number is at the end of the data it carries.
		end := relSeq + uint32(length)
		if h.check(histFIN, 'F', d) && end != z.histFIN {
			h.addDir('F', d)
		}
		z.histFIN = end
	case f.Has(packet.RST):
		if h.check(histRST, 'R', d) && relSeq != z.histRST {
			h.addDir('R', d)
		}
		z.histRST = relSeq
	case length > 0:
		h.check(histData, 'D', d)
	case f.Has(packet.ACK):
		h.check(histACK, 'A', d)
	}
}

// setState is TCP_Endpoint::SetState: prev_state changes only with state.
func (c *Conn) setState(d Dir, s EndpointState) {
	if e := &c.Ep[d]; e.State != s {
		c.History.z[d].prev = e.State
		e.State = s
	}
}

// zeekStateMachine is TCPSessionAdapter::UpdateStateMachine; it reports
// whether the packet closes this side (do_close).
func (c *Conn) zeekStateMachine(p *packet.Packet, d Dir, seq Seq, length int) bool {
	f := p.Flags
	e, peer := &c.Ep[d], &c.Ep[d.Other()]
	po := d.Other()
	isOrig := d == FromOrig
	doClose := false
	switch e.State {
	case Inactive: // UpdateInactiveState
		if f.Has(packet.SYN) {
			if isOrig {
				if f.Has(packet.ACK) {
					c.setState(d, SYNAckSent)
				} else {
					c.setState(d, SYNSent)
				}
			} else {
				// A SYN-ACK (or simultaneous open) from the responder
				// establishes both sides. Zeek flips roles for a SYN that
				// answers the originator's SYN-ACK; that reversal is not
				// ported (see docs/zeek.md).
				if peer.State == SYNSent {
					c.setState(po, Established)
				}
				c.setState(d, Established)
			}
		}
		if f.Has(packet.FIN) {
			c.setState(d, Closed)
			doClose = true
		}
		if f.Has(packet.RST) {
			c.setState(d, Reset)
			doClose = true
		}
		if e.State == Inactive {
			switch {
			case !isOrig && length == 0 && c.Ep[FromOrig].State == SYNSent:
				// An ACK of the SYN ahead of the SYN-ACK does not make
				// the connection partial ("hello, ftp.microsoft.com").
			case f.Has(packet.ACK) && peer.State == Established:
				// The SYN was missed but the SYN-ACK seen: establish.
				c.setState(d, Established)
				c.History.partial = false
			default:
				c.setState(d, Partial)
			}
		}
	case SYNSent, SYNAckSent: // UpdateSYN_SentState
		if f.Has(packet.FIN) {
			c.setState(d, Closed)
			doClose = true
		}
		if f.Has(packet.RST) {
			c.setState(d, Reset)
			doClose = true
		}
	case Established, Partial: // UpdateEstablishedState
		if f.Has(packet.SYN) && e.State == Partial && peer.State == Inactive && !f.Has(packet.ACK) {
			c.setState(d, SYNSent)
		}
		if f.Has(packet.FIN) && !f.Has(packet.RST) {
			c.setState(d, Closed)
			if peer.State == Reset && c.History.z[po].prev == Closed {
				// The peer sent FIN then RST: a normal termination.
				c.setState(po, Closed)
			}
			doClose = true
		}
		if f.Has(packet.RST) {
			c.setState(d, Reset)
			doClose = true
		}
	case Closed: // UpdateClosedState
		// After a FIN exchange a RST changes nothing.
		if f.Has(packet.RST) && peer.State != Closed {
			c.setState(d, Reset)
			if !c.History.z[d].didClose {
				doClose = true
			}
		}
	case Reset: // UpdateResetState: nothing changes
	}
	return doClose
}

// zeekConnectionClosed is TCPSessionAdapter::ConnectionClosed without
// DataPending: the side is closed, and the connection completely so when
// this side reset, or the peer closed too or never sent anything.
func (c *Conn) zeekConnectionClosed(d Dir) {
	z, pz := &c.History.z[d], &c.History.z[d.Other()]
	if z.didClose {
		return
	}
	z.didClose = true
	if c.Ep[d].State == Reset || pz.didClose || c.Ep[d.Other()].State == Inactive {
		// The delete timer runs from the connection's last time.
		c.closeNS = c.lastNS
	}
}

// zeekClosed is TCPSessionAdapter::IsClosed: either side closed.
func (c *Conn) zeekClosed() bool { return c.History.z[0].didClose || c.History.z[1].didClose }

// clean is TCP_Reassembler.cc is_clean: gaps count only between sides
// established or cleanly closing.
func (c *Conn) clean(d Dir) bool {
	s := c.Ep[d].State
	return s == Established || (s == Closed && c.History.z[d].prev == Established)
}

// zeekAckReceived is TCP_Reassembler::AckReceived for side d's data, acked
// up to relative seq by the peer: acknowledged data never seen is a gap.
func (c *Conn) zeekAckReceived(d Dir, seq uint32) {
	z := &c.History.z[d]
	if z.reassem == 0 {
		z.reassem, z.trim = 1, 1 // the reassembler starts past the SYN
	}
	if z.finCnt > 0 && seq >= z.finSeq {
		seq = z.finSeq - 1
	}
	if seq <= z.trim {
		return
	}
	z.trim = seq
	if seq <= z.reassem {
		return
	}
	// Undelivered.
	if seq <= 2 && c.History.partial {
		return // the faked-up start of a partial connection
	}
	gap := func() {
		if c.clean(d) && c.clean(d.Other()) {
			c.History.scaled('G', d, &z.gap, &z.gapThresh)
		}
	}
	if z.oooHi != 0 && z.oooLo >= z.reassem && z.oooLo < seq {
		if z.oooLo > z.reassem {
			gap()
		}
		z.reassem = max(z.reassem, z.oooHi)
		z.oooLo, z.oooHi = 0, 0
	}
	if seq > z.reassem {
		gap()
		z.reassem = seq
	}
}

// dataSent is TCP_Reassembler::DataSent reduced to where in-order data
// ends: [seq, seq+n) relative, ack is this side's data acked so far.
func (z *zeekEndpoint) dataSent(seq, n, ack uint32) {
	if z.reassem == 0 {
		z.reassem, z.trim = 1, 1
	}
	upper := seq + n
	if seq < ack {
		if upper <= ack {
			return
		}
		seq = ack
	}
	if upper <= z.trim {
		return
	}
	seq = max(seq, z.trim)
	if seq > z.reassem {
		// Above a hole: keep one block, merged with the one held.
		switch {
		case z.oooHi == 0:
			z.oooLo, z.oooHi = seq, upper
		case seq <= z.oooHi && upper >= z.oooLo:
			z.oooLo, z.oooHi = min(z.oooLo, seq), max(z.oooHi, upper)
		case seq < z.oooLo:
			z.oooLo, z.oooHi = seq, upper
		}
		return
	}
	z.reassem = max(z.reassem, upper)
	if z.oooHi != 0 && z.oooLo <= z.reassem {
		z.reassem = max(z.reassem, z.oooHi)
		z.oooLo, z.oooHi = 0, 0
	}
}

// zeekSize is TCP_Endpoint::Size: payload bytes by sequence space, from
// the start to the highest of what was sent and what the peer acked, less
// the SYN and FIN.
func (c *Conn) zeekSize(d Dir) uint64 {
	e, z := &c.Ep[d], &c.History.z[d]
	noDataAcked := z.ack == z.start || z.ack == z.start.Add(1)
	if z.prev == SYNSent && e.State == Reset && c.Ep[d.Other()].State == Inactive && !noDataAcked {
		// A half-open connection discovered and aborted.
		return 0
	}
	top := z.last
	if top.LessThan(z.ack) {
		top = z.ack
	}
	n := int64(top.Sub(z.start))
	if n < 0 {
		n += 1 << 32 // Zeek's 64-bit spaces never go below the start
	}
	if n != 0 {
		n--
	}
	if z.finCnt > 0 && n != 0 {
		n--
	}
	return uint64(n)
}

// ConnState returns Zeek's conn_state (base/protocols/conn/main.zeek conn_state).
func (c *Conn) ConnState() string {
	os, rs := c.Ep[FromOrig].State, c.Ep[FromResp].State
	oInactive := os == Inactive || os == Partial
	rInactive := rs == Inactive || rs == Partial
	switch {
	case rs == Reset:
		if os == SYNSent || os == SYNAckSent ||
			(os == Reset && c.zeekSize(FromOrig) == 0 && c.zeekSize(FromResp) == 0) {
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

// Bytes returns orig_bytes and resp_bytes as Zeek counts them: payload by
// sequence space, so retransmissions count once and bytes the capture
// missed but the peer acknowledged count too.
func (c *Conn) Bytes() (orig, resp uint64) {
	return c.zeekSize(FromOrig), c.zeekSize(FromResp)
}
