package flow

import (
	"time"

	"github.com/rstscope/rstscope/packet"
)

// A reply is a packet that answered an attempt, kept as compactly as the
// attempt itself: a SYN-ACK (a listener answering with SYN cookies), a
// reset (a closed port's RST+ACK, or the spoofed source's RST to a
// SYN-ACK it never asked for). An attempt with replies is a record: the
// connection is still the attempt's SYN and these few packets, and is
// built as a Conn only when something else arrives on its 4-tuple or it
// ends. On bench/synflood with 10 % of the SYNs answered by RST+ACK, the
// 1.4 KB Conns of the closed ports (and the pending verdicts holding a
// copy of each) took the peak RSS from 118 to 385 MB.
//
// The first reply of a record also holds the record's tick and state bits.
type reply struct {
	tick         uint64 // first reply: the record's place in its list (see Table.tick)
	ns           int64  // capture time, Unix nanoseconds
	dframe       uint32 // frame number less the attempt's
	seq, ack     uint32
	tsVal, tsEcr uint32
	mss, ipLen   uint16
	flags        packet.Flags
	window, ipID uint16
	mac          [6]byte
	wscale       uint8
	optLen       uint8
	optBits      uint8 // optHas* below
	ttl          uint8
	bits         uint8 // reply* below
	// cause and sender are a noted reset's verdict, as 1 + an index into
	// Table.notes, or 0 when Table.bigNotes holds it.
	cause, sender uint8
	next          uint32 // the next reply, 0 for none; free slots link here too
}

const (
	replyFromResp = 1 << iota // sent by the responder (the SYN's receiver)
	replyHasMAC
	replyDF
	replyPending // a reset whose verdict the analyzer has not made yet
	replyNoted   // a reset whose verdict is noted (Conn.LastReset)
	replyClosed  // first reply: the record ends in a reset
	// first reply: the record left the table (built as a Conn, or ended)
	// with its reset's verdict still pending; its slots stay until
	// Explained, so Before can still build the reset's context.
	replyDeparted
)

const (
	optHasMSS = 1 << iota
	optHasWScale
	optSACKPerm
	optHasSACK
	optHasTS
)

// maxReplies is the most replies a record holds: a SYN-ACK, then a reset.
const maxReplies = 2

func (r *reply) dir() Dir {
	if r.bits&replyFromResp != 0 {
		return FromResp
	}
	return FromOrig
}

// packOptions is o in 13 bytes instead of packet.Options' 20.
func packOptions(o packet.Options) (mss uint16, wscale, length, bits uint8, tsVal, tsEcr uint32) {
	for i, b := range [...]bool{o.HasMSS, o.HasWScale, o.SACKPerm, o.HasSACK, o.HasTS} {
		if b {
			bits |= 1 << i
		}
	}
	return o.MSS, o.WScale, o.Len, bits, o.TSVal, o.TSEcr
}

// unpackOptions undoes packOptions.
func unpackOptions(mss uint16, wscale, length, b uint8, tsVal, tsEcr uint32) packet.Options {
	return packet.Options{MSS: mss, WScale: wscale, TSVal: tsVal, TSEcr: tsEcr, Len: length,
		HasMSS: b&optHasMSS != 0, HasWScale: b&optHasWScale != 0, SACKPerm: b&optSACKPerm != 0,
		HasSACK: b&optHasSACK != 0, HasTS: b&optHasTS != 0}
}

func (r *reply) setOptions(o packet.Options) {
	r.mss, r.wscale, r.optLen, r.optBits, r.tsVal, r.tsEcr = packOptions(o)
}

func (r *reply) options() packet.Options {
	return unpackOptions(r.mss, r.wscale, r.optLen, r.optBits, r.tsVal, r.tsEcr)
}

func (t *Table) reply(j uint32) *reply { return t.replies.at(j, replyChunk) }

func (t *Table) allocReply() uint32 {
	if t.replies == nil {
		t.replies = newSlab[reply](t)
	}
	return t.replies.alloc(replyChunk, func(r *reply) uint32 { return r.next })
}

// Ref names a reset the table took compactly (Answer), for Before and
// Explained.
type Ref struct {
	slot uint32
	id   uint64
}

// isSYNACK reports whether p is a plain SYN-ACK: no RST, FIN or payload.
func isSYNACK(p *packet.Packet) bool {
	f := p.Flags
	return f.Has(packet.SYN) && f.Has(packet.ACK) && !f.Has(packet.RST) && !f.Has(packet.FIN)
}

// Answer takes p, a packet the caller would otherwise give to Lookup and
// Update, into a compact connection when p is a SYN-ACK answering an
// unanswered attempt, or a reset (without payload) ending an attempt or
// an attempt answered by a SYN-ACK; it reports whether it did, and p's
// direction. For a reset, pend marks it as waiting for a verdict
// (Conn.Pending) until Explained, and ref names it for Before and
// Explained. Anything else, or a packet after the reset, builds the Conn
// (Lookup), so nothing downstream tells the two apart
// (TestAnswerMatchesProcess).
func (t *Table) Answer(p *packet.Packet, ts time.Time, frame uint64, ipBytes int, pend bool) (Ref, Dir, bool) {
	if t.attemptIdx.n == 0 {
		return Ref{}, 0, false
	}
	k, _ := MakeKey(p.SrcAddrPort(), p.DstAddrPort())
	return t.AnswerKey(p, k, ts, frame, ipBytes, pend)
}

// AnswerKey is Answer for a packet whose key the caller made already (see
// LookupKey).
func (t *Table) AnswerKey(p *packet.Packet, k Key, ts time.Time, frame uint64, ipBytes int, pend bool) (Ref, Dir, bool) {
	rst := p.Flags.Has(packet.RST)
	if t.attemptIdx.n == 0 || p.PayloadLen != 0 || len(p.Payload) != 0 || (!rst && !isSYNACK(p)) ||
		ipBytes < 0 || ipBytes > 1<<16-1 || p.Urgent != 0 || p.Fragmented || p.FragProto != 0 {
		return Ref{}, 0, false
	}
	srcLo := k.srcIsLo(p)
	if t.last != nil && t.last.Key == k {
		return Ref{}, 0, false
	}
	if t.conns.find(&k) != nil {
		return Ref{}, 0, false
	}
	i := t.findAttempt(k)
	if i == 0 {
		return Ref{}, 0, false
	}
	a := t.attempt(i)
	if p.IPVersion != a.ipVersion() || p.VLAN != a.vlan || p.Tunnels != a.tunnels || frame < a.frame || frame-a.frame > 1<<32-1 {
		return Ref{}, 0, false
	}
	if ns := ts.UnixNano(); ns > t.nowNS {
		t.nowNS = ns // as Lookup does
	}
	if t.attemptGone(i) {
		return Ref{}, 0, false // Lookup ends it and starts a new connection
	}
	d := FromResp
	if srcLo == a.srcLo() {
		d = FromOrig
	}
	var rs [maxReplies]reply
	n := 0
	for j := a.more; j != 0; j = t.reply(j).next {
		rs[n] = *t.reply(j)
		n++
	}
	switch {
	case n == 0 && !rst && d == FromResp: // the SYN-ACK
	case n == 0 && rst: // a closed port, or the SYN's sender giving up
	case n == 1 && rst && rs[0].flags.Has(packet.SYN): // a reset after the SYN-ACK
	default:
		return Ref{}, 0, false
	}
	r := reply{ns: ts.UnixNano(), dframe: uint32(frame - a.frame), seq: p.Seq, ack: p.Ack, ipLen: uint16(ipBytes),
		flags: p.Flags, window: p.Window, ipID: p.IPID, mac: p.SrcMAC, ttl: p.TTL}
	r.setOptions(p.Opt)
	if d == FromResp {
		r.bits |= replyFromResp
	}
	if p.HasMAC {
		r.bits |= replyHasMAC
	}
	if p.DF {
		r.bits |= replyDF
	}
	if rst {
		// A reset closes the connection in Zeek's sense: check that the
		// Conn it would be agrees, so the record's close delay is right.
		if t.scratch == nil {
			t.scratch = new(Conn)
		}
		rs[n] = r
		c := t.scratch
		replay(c, &t.replay, a, t.keyOf(a), rs[:n+1])
		if c.closeNS == 0 || c.closeNS != c.lastNS || c.finUnacked() || c.attempt() {
			return Ref{}, 0, false
		}
		if pend {
			r.bits |= replyPending
		}
	}
	t.unlinkAttempt(i)
	j := t.allocReply()
	*t.reply(j) = r
	if n == 0 {
		a.more = j
	} else {
		t.reply(a.more).next = j
	}
	if rst {
		t.reply(a.more).bits |= replyClosed
	}
	t.pushAttempt(i)
	return Ref{slot: i, id: a.id}, d, true
}

// Explained notes the verdict on the reset Answer took for ref, as the
// analyzer notes it in Conn.LastReset, and ends its pending mark; once its
// connection left the table (built as a Conn, which the caller notes
// itself, or ended), it frees what Before needed.
func (t *Table) Explained(ref Ref, note ResetNote) {
	if t.slab == nil || ref.slot == 0 || ref.slot > t.slab.used {
		return
	}
	a := t.attempt(ref.slot)
	if a.id != ref.id || a.more == 0 {
		return
	}
	if t.reply(a.more).bits&replyDeparted != 0 {
		t.freeAttempt(ref.slot)
		return
	}
	j := a.more
	for t.reply(j).next != 0 {
		j = t.reply(j).next
	}
	r := t.reply(j)
	r.bits = r.bits&^replyPending | replyNoted
	r.cause, r.sender = t.intern(note.Cause), t.intern(note.Sender)
	if r.cause == 0 || r.sender == 0 {
		r.cause = 0
		if t.bigNotes == nil {
			t.bigNotes = make(map[uint64]ResetNote)
		}
		t.bigNotes[a.id] = note
	}
}

// intern returns 1 + the index of s in t.notes, adding it, or 0 when the
// 255 places are taken. Verdicts come from a closed vocabulary (causes and
// senders, a few dozen strings), so the map is for the unforeseen.
func (t *Table) intern(s string) uint8 {
	for i, x := range t.notes {
		if x == s {
			return uint8(i + 1)
		}
	}
	if len(t.notes) == 255 {
		return 0
	}
	t.notes = append(t.notes, s)
	return uint8(len(t.notes))
}

// ID is the ID of the connection ref names (Conn.ID once built).
func (r Ref) ID() uint64 { return r.id }

// Before builds the context of the reset Answer took for ref: c becomes
// the connection as it stood just before it, and rst the reset, but for
// what the table does not keep (Link, DstMAC, VLANs, Truncated and
// Payload, which the caller keeps). It reports false when ref names
// nothing (Explained was called).
func (t *Table) Before(ref Ref, c *Conn, rst *packet.Packet) bool {
	if t.slab == nil || ref.slot == 0 || ref.slot > t.slab.used {
		return false
	}
	a := t.attempt(ref.slot)
	if a.id != ref.id || a.more == 0 {
		return false
	}
	var rs [maxReplies]reply
	n := 0
	for j := a.more; j != 0; j = t.reply(j).next {
		rs[n] = *t.reply(j)
		n++
	}
	r := &rs[n-1]
	if !r.flags.Has(packet.RST) {
		return false
	}
	replay(c, rst, a, t.keyOf(a), rs[:n-1])
	*rst = t.packetOf(a, r)
	return true
}

// Slot is the slab index ref names, for Reset.
func (r Ref) Slot() uint32 { return r.slot }

// Reset returns the Ref, frame and capture time (Unix ns) of the reset
// Answer took whose Ref's Slot is slot, valid until Explained: a pending
// reset need keep only the slot (diagnose's compactReset).
func (t *Table) Reset(slot uint32) (ref Ref, frame uint64, ns int64) {
	a := t.attempt(slot)
	j := a.more
	for t.reply(j).next != 0 {
		j = t.reply(j).next
	}
	r := t.reply(j)
	return Ref{slot: slot, id: a.id}, a.frame + uint64(r.dframe), r.ns
}
