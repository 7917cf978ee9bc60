package flow

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"time"

	"github.com/rstscope/rstscope/packet"
)

// An attempt is a connection that so far is one plain SYN: what a SYN
// flood is made of. It is kept as the SYN's own facts, about a tenth of a
// Conn, in a pointer-free slab the garbage collector does not scan. The
// next packet on its 4-tuple promotes it: a Conn is built by applying the
// SYN again, so from then on nothing tells the two apart. On a 10 M-SYN
// flood (bench/synflood) a table full of Conns peaked at 1.65 GB RSS.
//
// The fields are packed to 88 bytes (options as in a reply, flags as
// bits): at 128, the 500 k attempts of a full table took 8 MB more, which
// put a flood with 10 % closed-port answers over 128 MB peak RSS; at 112,
// with the key's IPv4 addresses in 16 bytes each, a full table of records
// answered by SYN cookies or RST+ACK was 88 MB, two thirds of the 128 MB
// a flood may take.
type attempt struct {
	// addr is the key's low and high address when both are IPv4 (or
	// IPv4-mapped), else addr[0] holds the index of their addrPair
	// (attKey6); see keyOf.
	addr         [2][4]byte
	loP, hiP     uint16
	more         uint32 // the first reply (reply slab index), 0 for an attempt nobody answered yet
	id           uint64
	ns           int64 // capture time, Unix nanoseconds
	frame        uint64
	seq, ack     uint32
	tsVal, tsEcr uint32
	ipLen, mss   uint16
	flags        packet.Flags
	window       uint16
	ipID, vlan   uint16
	mac          [6]byte
	wscale       uint8
	optLen       uint8
	optBits      uint8 // opt* (reply.go)
	ttl          uint8
	tunnels      uint8
	bits         uint8  // att* below
	prev, next   uint32 // the attempt list, oldest first; slab index + 1, 0 for none
}

const (
	attHasMAC = 1 << iota
	attDF
	attSrcLo // the SYN came from the key's low side
	attIPv6
	attKey6 // the key's addresses are in an addrPair (see attempt.addr)
)

// addrPair is the low and high address of a key that is not IPv4's; a
// free one links the next free in its first four bytes.
type addrPair [2][16]byte

// addrChunk is how many addrPairs one slab chunk holds (128 KiB).
const addrChunk = 4096

// v4Prefix is the first 12 bytes of an IPv4-mapped address.
var v4Prefix = [12]byte{10: 0xff, 11: 0xff}

// setKey stores k in a, whose attKey6 bit is clear and whose pair, if any,
// was freed.
func (t *Table) setKey(a *attempt, k Key) {
	a.loP, a.hiP = k.loP, k.hiP
	if [12]byte(k.lo[:12]) == v4Prefix && [12]byte(k.hi[:12]) == v4Prefix {
		a.addr = [2][4]byte{[4]byte(k.lo[12:]), [4]byte(k.hi[12:])}
		return
	}
	if t.addrs6 == nil {
		t.addrs6 = newSlab[addrPair](t)
	}
	j := t.addrs6.alloc(addrChunk, func(p *addrPair) uint32 { return binary.LittleEndian.Uint32(p[0][:4]) })
	*t.addrs6.at(j, addrChunk) = addrPair{k.lo, k.hi}
	binary.LittleEndian.PutUint32(a.addr[0][:], j)
	a.bits |= attKey6
}

// keyOf is a's key.
func (t *Table) keyOf(a *attempt) Key {
	if a == t.warmed {
		return t.warmedKey
	}
	k := Key{loP: a.loP, hiP: a.hiP}
	if a.bits&attKey6 != 0 {
		p := t.addrs6.at(binary.LittleEndian.Uint32(a.addr[0][:]), addrChunk)
		k.lo, k.hi = p[0], p[1]
	} else {
		copy(k.lo[:], v4Prefix[:])
		copy(k.hi[:], v4Prefix[:])
		copy(k.lo[12:], a.addr[0][:])
		copy(k.hi[12:], a.addr[1][:])
	}
	k.h = hashOf(&k.lo, &k.hi, k.loP, k.hiP)
	return k
}

// freeKey frees a's addrPair, if it has one.
func (t *Table) freeKey(a *attempt) {
	if a.bits&attKey6 != 0 {
		j := binary.LittleEndian.Uint32(a.addr[0][:])
		binary.LittleEndian.PutUint32(t.addrs6.at(j, addrChunk)[0][:], t.addrs6.free)
		t.addrs6.free = j
		a.bits &^= attKey6
	}
}

func (a *attempt) srcLo() bool { return a.bits&attSrcLo != 0 }

func (a *attempt) ipVersion() uint8 {
	if a.bits&attIPv6 != 0 {
		return 6
	}
	return 4
}

// attemptChunk is how many attempts one slab chunk holds (448 KiB), and
// replyChunk how many replies (256 KiB): chunks instead of one growing
// slice spare the copy (and the old slice as garbage) on growth.
const (
	attemptChunk = 4096
	replyChunk   = 4096
)

// slab holds pointer-free values in chunks, indexed from 1. Chunks mapped
// outside the Go heap (see mapChunk) are unmapped by a cleanup once the
// table is unreachable; the slab is an object of its own so the cleanup
// need not keep the table alive.
type slab[T any] struct {
	chunks [][]T
	mapped int // chunks[:mapped] are mapped, the rest from the heap
	used   uint32
	free   uint32 // a free slot, 0 for none; the caller links free slots
}

func (s *slab[T]) release() {
	for _, c := range s.chunks[:s.mapped] {
		unmapChunk(c)
	}
	s.chunks, s.mapped = nil, 0
}

// at returns the value at index i (1-based).
func (s *slab[T]) at(i uint32, chunk uint32) *T {
	return &s.chunks[(i-1)/chunk][(i-1)%chunk]
}

// grow adds a chunk of n values.
func (s *slab[T]) grow(n int) {
	if c, ok := mapChunk[T](n); ok && s.mapped == len(s.chunks) {
		s.chunks = append(s.chunks, c)
		s.mapped++
	} else {
		if ok {
			unmapChunk(c)
		}
		s.chunks = append(s.chunks, make([]T, n))
	}
}

// alloc returns a free slot's index: the head of the free list, whose
// successor next reads from the slot, or a new slot, adding a chunk of
// chunk values when the last is full.
func (s *slab[T]) alloc(chunk uint32, next func(*T) uint32) uint32 {
	if i := s.free; i != 0 {
		s.free = next(s.at(i, chunk))
		return i
	}
	if s.used == uint32(len(s.chunks))*chunk {
		s.grow(int(chunk))
	}
	s.used++
	return s.used
}

// newSlab returns an empty slab released when owner becomes unreachable.
func newSlab[T any, O any](owner *O) *slab[T] {
	s := new(slab[T])
	runtime.AddCleanup(owner, (*slab[T]).release, s)
	return s
}

// attemptSYN reports whether p may start an attempt: a SYN without ACK,
// RST, FIN or payload.
func attemptSYN(p *packet.Packet) bool {
	return p.Flags.Has(packet.SYN) && !p.Flags.Has(packet.ACK) && !p.Flags.Has(packet.RST) &&
		!p.Flags.Has(packet.FIN) && p.PayloadLen == 0
}

// Offer takes p, a packet the caller would otherwise give to Lookup and
// Update, as a compact connection attempt when it is a plain SYN that no
// tracked connection or attempt holds; it reports whether it did. The
// packet then belongs to a connection the caller never sees unless another
// packet arrives on its 4-tuple (Lookup returns it as a Conn) or it ends
// (OnEnd sees it as a Conn).
func (t *Table) Offer(p *packet.Packet, ts time.Time, frame uint64, ipBytes int) bool {
	if !attemptSYN(p) {
		return false
	}
	k, _ := MakeKey(p.SrcAddrPort(), p.DstAddrPort())
	return t.OfferKey(p, k, ts, frame, ipBytes)
}

// OfferKey is Offer for a packet whose key the caller made already (see
// LookupKey).
func (t *Table) OfferKey(p *packet.Packet, k Key, ts time.Time, frame uint64, ipBytes int) bool {
	if !attemptSYN(p) || ipBytes < 0 || ipBytes > 1<<16-1 || (p.IPVersion != 4 && p.IPVersion != 6) {
		return false
	}
	ns := ts.UnixNano()
	srcLo := k.srcIsLo(p)
	if t.last != nil && t.last.Key == k {
		return false
	}
	if t.conns.find(&k) != nil {
		return false
	}
	if t.findAttempt(k) != 0 {
		return false
	}
	if ns > t.nowNS {
		t.nowNS = ns
	}
	t.expire()
	if t.Len() >= t.cfg.MaxConns {
		t.stats.Evicted++
		t.evictOne()
	}
	i := t.allocAttempt()
	a := t.attempt(i)
	t.stats.Conns++
	*a = attempt{
		id: t.stats.Conns, ns: ns, frame: frame, seq: p.Seq, ack: p.Ack, ipLen: uint16(ipBytes),
		flags: p.Flags, window: p.Window, ipID: p.IPID, vlan: p.VLAN, mac: p.SrcMAC,
		ttl: p.TTL, tunnels: p.Tunnels,
	}
	a.mss, a.wscale, a.optLen, a.optBits, a.tsVal, a.tsEcr = packOptions(p.Opt)
	t.setKey(a, k)
	for _, b := range [...]struct {
		set bool
		bit uint8
	}{{p.HasMAC, attHasMAC}, {p.DF, attDF}, {srcLo, attSrcLo}, {p.IPVersion == 6, attIPv6}} {
		if b.set {
			a.bits |= b.bit
		}
	}
	t.indexAttempt(i, k.h)
	t.pushAttempt(i)
	t.stats.Peak = max(t.stats.Peak, t.Len())
	return true
}

// attempt returns the attempt at slab index i (1-based).
func (t *Table) attempt(i uint32) *attempt { return t.slab.at(i, attemptChunk) }

func (t *Table) allocAttempt() uint32 {
	if t.slab == nil {
		t.slab = newSlab[attempt](t)
	}
	return t.slab.alloc(attemptChunk, func(a *attempt) uint32 { return a.next })
}

// slotList is a list of slab indices, least recently active first, linked
// through the attempts' prev and next.
type slotList struct{ head, tail uint32 }

// slotListOf is the list attempt i belongs on: unanswered attempts, or,
// once answered (see Answer), open or closed records.
func (t *Table) slotListOf(i uint32) *slotList {
	a := t.attempt(i)
	switch {
	case a.more == 0:
		return &t.attempts
	case t.reply(a.more).bits&replyClosed != 0:
		return &t.rClosed
	}
	return &t.rOpen
}

// pushAttempt puts attempt i at the back of its list.
func (t *Table) pushAttempt(i uint32) {
	l := t.slotListOf(i)
	a := t.attempt(i)
	if a.more != 0 {
		t.tick++
		t.reply(a.more).tick = t.tick
	}
	a.prev, a.next = l.tail, 0
	if l.tail != 0 {
		t.attempt(l.tail).next = i
	} else {
		l.head = i
	}
	l.tail = i
}

// unlinkAttempt takes attempt i off its list.
func (t *Table) unlinkAttempt(i uint32) {
	l := t.slotListOf(i)
	a := t.attempt(i)
	if a.prev != 0 {
		t.attempt(a.prev).next = a.next
	} else {
		l.head = a.next
	}
	if a.next != 0 {
		t.attempt(a.next).prev = a.prev
	} else {
		l.tail = a.prev
	}
	a.prev, a.next = 0, 0
}

// dropAttempt unlinks attempt i, whose key's hash is h, forgets its key
// and frees its slot and its replies, unless a reset of it waits for its
// verdict: then they stay until Explained.
func (t *Table) dropAttempt(i uint32, h uint64) {
	t.unlinkAttempt(i)
	t.unindexAttempt(i, h)
	a := t.attempt(i)
	for j := a.more; j != 0; j = t.reply(j).next {
		if t.reply(j).bits&replyPending != 0 {
			t.reply(a.more).bits |= replyDeparted
			return
		}
	}
	t.freeAttempt(i)
}

// freeAttempt frees attempt i's slot and its replies.
func (t *Table) freeAttempt(i uint32) {
	a := t.attempt(i)
	for j := a.more; j != 0; {
		r := t.reply(j)
		next := r.next
		r.next, t.replies.free = t.replies.free, j
		j = next
	}
	if t.bigNotes != nil {
		delete(t.bigNotes, a.id)
	}
	t.freeKey(a)
	if a == t.warmed {
		t.warmed = nil
	}
	a.more, a.id = 0, 0
	a.next = t.slab.free
	t.slab.free = i
}

// attemptGone reports whether Zeek would have deleted attempt i by now, as
// gone does for a Conn: an unanswered attempt after its attempt timer
// (tcp_attempt_delay) or idle timeout, an answered one after its close
// delay or idle timeout.
func (t *Table) attemptGone(i uint32) bool {
	a := t.attempt(i)
	if a.more == 0 {
		return time.Duration(t.nowNS-a.ns) >= min(t.cfg.AttemptTimeout, t.cfg.IdleTimeout)
	}
	last := t.recordLastNS(a)
	if t.reply(a.more).bits&replyClosed != 0 && time.Duration(t.nowNS-last) >= t.cfg.CloseDelay {
		return true
	}
	return time.Duration(t.nowNS-last) >= t.cfg.IdleTimeout
}

// recordLastNS is Conn.lastNS of an answered attempt: its latest packet.
func (t *Table) recordLastNS(a *attempt) int64 {
	ns := a.ns
	for j := a.more; j != 0; j = t.reply(j).next {
		ns = max(ns, t.reply(j).ns)
	}
	return ns
}

// build makes c the connection attempt i stands for, by applying its SYN
// and its replies.
func (t *Table) build(c *Conn, i uint32) {
	a := t.attempt(i)
	var rs [maxReplies]reply
	n := 0
	for j := a.more; j != 0; j = t.reply(j).next {
		rs[n] = *t.reply(j)
		n++
	}
	t.buildFrom(c, a, rs[:n])
}

// buildFrom makes c the connection of attempt a and replies rs, as the
// table holds them (pending and noted resets included).
func (t *Table) buildFrom(c *Conn, a *attempt, rs []reply) {
	p := &t.replay
	replay(c, p, a, t.keyOf(a), rs)
	for k := range rs {
		r := &rs[k]
		d := r.dir()
		if r.bits&replyPending != 0 {
			c.Pending++
		}
		if r.bits&replyNoted != 0 {
			if r.cause == 0 {
				c.LastReset[d] = t.bigNotes[a.id]
			} else {
				c.LastReset[d] = ResetNote{Frame: a.frame + uint64(r.dframe), Cause: t.notes[r.cause-1], Sender: t.notes[r.sender-1]}
			}
		}
	}
}

// replay makes c the connection of attempt a, of key k, and replies rs by
// applying their packets in order, p being scratch space.
func replay(c *Conn, p *packet.Packet, a *attempt, k Key, rs []reply) {
	*c = Conn{}
	*p = packet.Packet{
		HasMAC: a.bits&attHasMAC != 0, SrcMAC: a.mac, VLAN: a.vlan, Tunnels: a.tunnels, IPVersion: a.ipVersion(),
		IPLen: int(a.ipLen), TTL: a.ttl, IPID: a.ipID, DF: a.bits&attDF != 0,
		Seq: a.seq, Ack: a.ack, Flags: a.flags, Window: a.window,
		Opt: unpackOptions(a.mss, a.wscale, a.optLen, a.optBits, a.tsVal, a.tsEcr),
	}
	lo, hi := keyAddr(k.lo, a.ipVersion()), keyAddr(k.hi, a.ipVersion())
	src, dst := netip.AddrPortFrom(lo, k.loP), netip.AddrPortFrom(hi, k.hiP)
	if !a.srcLo() {
		src, dst = dst, src
	}
	p.Src, p.SrcPort, p.Dst, p.DstPort = src.Addr(), src.Port(), dst.Addr(), dst.Port()
	c.ID, c.Key = a.id, k
	c.VLAN, c.Tunnels = a.vlan, a.tunnels
	c.Ep[FromOrig].Addr, c.Ep[FromResp].Addr = src, dst
	c.SYNSeen = true
	c.Update(p, FromOrig, time.Unix(0, a.ns), a.frame, int(a.ipLen))
	for k := range rs {
		r := &rs[k]
		*p = packetOfReply(a, r, src, dst)
		c.Update(p, r.dir(), time.Unix(0, r.ns), a.frame+uint64(r.dframe), int(r.ipLen))
	}
}

// packetOf is reply r of attempt a as the decoder gave it, but for the
// fields the table does not keep (see Before).
func (t *Table) packetOf(a *attempt, r *reply) packet.Packet {
	k := t.keyOf(a)
	lo, hi := keyAddr(k.lo, a.ipVersion()), keyAddr(k.hi, a.ipVersion())
	src, dst := netip.AddrPortFrom(lo, k.loP), netip.AddrPortFrom(hi, k.hiP)
	if !a.srcLo() {
		src, dst = dst, src
	}
	return packetOfReply(a, r, src, dst)
}

// packetOfReply is packetOf for the attempt's SYN from src to dst.
func packetOfReply(a *attempt, r *reply, src, dst netip.AddrPort) packet.Packet {
	from, to := src, dst
	if r.dir() == FromResp {
		from, to = dst, src
	}
	return packet.Packet{
		HasMAC: r.bits&replyHasMAC != 0, SrcMAC: r.mac, VLAN: a.vlan, Tunnels: a.tunnels, IPVersion: a.ipVersion(),
		IPLen: int(r.ipLen), TTL: r.ttl, IPID: r.ipID, DF: r.bits&replyDF != 0,
		Src: from.Addr(), SrcPort: from.Port(), Dst: to.Addr(), DstPort: to.Port(),
		Seq: r.seq, Ack: r.ack, Flags: r.flags, Window: r.window, Opt: r.options(),
	}
}

// keyAddr is the address a key holds, as the decoder gave it: IPv4 packets
// carry 4-byte addresses, which the key stores IPv4-mapped.
func keyAddr(b [16]byte, ipVersion uint8) netip.Addr {
	a := netip.AddrFrom16(b)
	if ipVersion == 4 {
		return a.Unmap()
	}
	return a
}

// promote turns attempt i into a tracked Conn, as if it had been one all
// along.
func (t *Table) promote(i uint32) *Conn {
	c := t.allocConn()
	t.build(c, i)
	t.dropAttempt(i, c.Key.h)
	t.conns.add(c)
	t.pushBack(c)
	return c
}

// endAttempt ends attempt i as end does a Conn: OnEnd sees it built as one.
func (t *Table) endAttempt(i uint32, why EndReason) {
	if t.OnEnd == nil {
		t.dropAttempt(i, t.keyOf(t.attempt(i)).h)
		return
	}
	if t.scratch == nil {
		t.scratch = new(Conn)
	}
	t.build(t.scratch, i)
	h := t.scratch.Key.h // before OnEnd, which may reuse the scratch
	t.OnEnd(t.scratch, why)
	t.dropAttempt(i, h)
}
