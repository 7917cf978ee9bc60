package flow

import (
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
type attempt struct {
	key        Key
	id         uint64
	ns         int64 // capture time, Unix nanoseconds
	frame      uint64
	seq, ack   uint32
	ipLen      uint32
	opt        packet.Options
	flags      packet.Flags
	window     uint16
	ipID, vlan uint16
	mac        [6]byte
	ttl        uint8
	ipVersion  uint8
	tunnels    uint8
	hasMAC, df bool
	srcLo      bool   // the SYN came from the key's low side
	prev, next uint32 // the attempt list, oldest first; slab index + 1, 0 for none
}

// attemptChunk is how many attempts one slab chunk holds (512 KiB): chunks
// instead of one growing slice spare the copy (and the old slice as
// garbage) on growth.
const attemptChunk = 4096

// attemptSlab holds a table's attempts. Chunks mapped outside the Go heap
// (see mapAttemptChunk) are unmapped by a cleanup once the table is
// unreachable; the slab is an object of its own so the cleanup need not
// keep the table alive.
type attemptSlab struct {
	chunks [][]attempt
	mapped int // chunks[:mapped] are mapped, the rest from the heap
}

func (s *attemptSlab) release() {
	for _, c := range s.chunks[:s.mapped] {
		unmapAttemptChunk(c)
	}
	s.chunks, s.mapped = nil, 0
}

// grow adds a chunk to t's slab.
func (t *Table) growSlab() {
	s := t.slab
	if s == nil {
		s = new(attemptSlab)
		t.slab = s
		runtime.AddCleanup(t, (*attemptSlab).release, s)
	}
	if c, ok := mapAttemptChunk(); ok && s.mapped == len(s.chunks) {
		s.chunks = append(s.chunks, c)
		s.mapped++
	} else {
		if ok {
			unmapAttemptChunk(c)
		}
		s.chunks = append(s.chunks, make([]attempt, attemptChunk))
	}
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
	if !attemptSYN(p) || ipBytes < 0 || ipBytes > 1<<32-1 {
		return false
	}
	ns := ts.UnixNano()
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	k, srcLo := MakeKey(src, dst)
	if t.last != nil && t.last.Key == k {
		return false
	}
	if _, ok := t.conns[k]; ok {
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
		key: k, id: t.stats.Conns, ns: ns, frame: frame, seq: p.Seq, ack: p.Ack, ipLen: uint32(ipBytes),
		opt: p.Opt, flags: p.Flags, window: p.Window, ipID: p.IPID, vlan: p.VLAN, mac: p.SrcMAC,
		ttl: p.TTL, ipVersion: p.IPVersion, tunnels: p.Tunnels, hasMAC: p.HasMAC, df: p.DF, srcLo: srcLo,
	}
	t.indexAttempt(i)
	t.pushAttempt(i)
	t.stats.Peak = max(t.stats.Peak, t.Len())
	return true
}

// attempt returns the attempt at slab index i (1-based).
func (t *Table) attempt(i uint32) *attempt {
	return &t.slab.chunks[(i-1)/attemptChunk][(i-1)%attemptChunk]
}

func (t *Table) allocAttempt() uint32 {
	if i := t.attemptFree; i != 0 {
		t.attemptFree = t.attempt(i).next
		return i
	}
	if t.slab == nil || t.slabUsed == uint32(len(t.slab.chunks))*attemptChunk {
		t.growSlab()
	}
	t.slabUsed++
	return t.slabUsed
}

func (t *Table) pushAttempt(i uint32) {
	a := t.attempt(i)
	a.prev, a.next = t.attemptTail, 0
	if t.attemptTail != 0 {
		t.attempt(t.attemptTail).next = i
	} else {
		t.attemptHead = i
	}
	t.attemptTail = i
}

// dropAttempt unlinks attempt i, forgets its key and frees its slot.
func (t *Table) dropAttempt(i uint32) {
	a := t.attempt(i)
	if a.prev != 0 {
		t.attempt(a.prev).next = a.next
	} else {
		t.attemptHead = a.next
	}
	if a.next != 0 {
		t.attempt(a.next).prev = a.prev
	} else {
		t.attemptTail = a.prev
	}
	t.unindexAttempt(i)
	a.prev, a.next = 0, t.attemptFree
	t.attemptFree = i
}

// attemptGone reports whether Zeek would have deleted attempt a by now:
// its attempt timer (tcp_attempt_delay) or idle timeout passed.
func (t *Table) attemptGone(a *attempt) bool {
	return time.Duration(t.nowNS-a.ns) >= min(t.cfg.AttemptTimeout, t.cfg.IdleTimeout)
}

// build makes c the connection attempt a stands for, by applying its SYN.
func (t *Table) build(c *Conn, a *attempt) {
	*c = Conn{}
	p := &t.replay
	*p = packet.Packet{
		HasMAC: a.hasMAC, SrcMAC: a.mac, VLAN: a.vlan, Tunnels: a.tunnels, IPVersion: a.ipVersion,
		IPLen: int(a.ipLen), TTL: a.ttl, IPID: a.ipID, DF: a.df,
		Seq: a.seq, Ack: a.ack, Flags: a.flags, Window: a.window, Opt: a.opt,
	}
	lo, hi := keyAddr(a.key.lo, a.ipVersion), keyAddr(a.key.hi, a.ipVersion)
	src, dst := netip.AddrPortFrom(lo, a.key.loP), netip.AddrPortFrom(hi, a.key.hiP)
	if !a.srcLo {
		src, dst = dst, src
	}
	p.Src, p.SrcPort, p.Dst, p.DstPort = src.Addr(), src.Port(), dst.Addr(), dst.Port()
	c.ID, c.Key = a.id, a.key
	c.VLAN, c.Tunnels = a.vlan, a.tunnels
	c.Ep[FromOrig].Addr, c.Ep[FromResp].Addr = src, dst
	c.SYNSeen = true
	c.Update(p, FromOrig, time.Unix(0, a.ns), a.frame, int(a.ipLen))
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
	c := t.free
	if c != nil {
		t.free = c.next
	} else {
		c = new(Conn)
	}
	t.build(c, t.attempt(i))
	t.dropAttempt(i)
	t.conns[c.Key] = c
	t.pushBack(c)
	return c
}

// endAttempt ends attempt i as end does a Conn: OnEnd sees it built as one.
func (t *Table) endAttempt(i uint32, why EndReason) {
	if t.OnEnd != nil {
		if t.scratch == nil {
			t.scratch = new(Conn)
		}
		t.build(t.scratch, t.attempt(i))
		t.OnEnd(t.scratch, why)
	}
	t.dropAttempt(i)
}
