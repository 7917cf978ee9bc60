package diagnose

import (
	"math/bits"
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/packet"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/flow"
)

// maxHosts bounds the per-address table; past it the table starts over, so
// memory stays bounded on captures with millions of addresses.
const maxHosts = 1 << 16

// hostStat is what one address showed across its flows (resets excluded):
// the model of its sender that cause/model.go holds a reset against. It is
// 96 bytes (TestHostStatSize); with its address and index slots
// (hostIndex) a full table of maxHosts is 8 MiB.
type hostStat struct {
	minTTL, maxTTL uint8
	ttls           [4]uint8 // distinct TTLs, the first four seen
	mac            [6]byte
	hasMAC         bool
	macs           uint8
	// synPorts has a bit set for each bucket of destination ports the
	// address sent a SYN to (64 buckets): a scanner's mark.
	synPorts uint64
	// talked counts finished connections on which the address sent data.
	talked uint32
	conns  uint32
	// IPv4 identity habits, summed over finished connections (see cause.Host).
	v4, zeroID, df   uint32
	idSteps, idUp    uint32
	startsNear, far  uint16
	lastID           uint16
	hasLastID        bool
	tsConns, noTS    uint16
	zeroSynAck       uint16
	syn              packet.Options
	hasSYN, synMixed bool
}

// hostTable holds what each address showed, and the bursts of resets each
// address:port sent.
type hostTable struct {
	addrs  hostIndex
	stats  []hostStat // in the order their addresses came
	keys   []hostAddr // stats[i]'s address
	bursts map[netip.AddrPort]*burst
	// ports remembers, per responder address:port (seen answering a
	// handshake or sending data), when it last sent data (0: none since
	// it was first seen); like bursts it
	// starts over at maxHosts entries, so what it says depends only on the
	// packets.
	ports map[netip.AddrPort]int64
}

func newHostTable() hostTable {
	return hostTable{bursts: make(map[netip.AddrPort]*burst), ports: make(map[netip.AddrPort]int64)}
}

// served records that src, a connection's responder, completed a
// handshake (data false) or sent data at ns.
func (h *hostTable) served(src netip.AddrPort, ns int64, data bool) {
	last, seen := h.ports[src]
	switch {
	case seen && !data:
		return // a handshake adds nothing to what is known
	case !seen && len(h.ports) >= maxHosts:
		clear(h.ports)
	}
	if data {
		last = max(last, ns)
	}
	h.ports[src] = last
}

// lastServed says when src last sent data (zero: not since it was first
// seen answering a handshake); known is false when src was not seen.
func (h *hostTable) lastServed(src netip.AddrPort) (last time.Time, known bool) {
	ns, known := h.ports[src]
	if ns != 0 {
		last = time.Unix(0, ns)
	}
	return last, known
}

// lookup returns a's model, nil when there is none.
func (h *hostTable) lookup(a netip.Addr) *hostStat {
	k := hostAddrOf(a)
	if i := h.addrs.find(&k, k.hash(), h.keys); i != 0 {
		return &h.stats[i-1]
	}
	return nil
}

// prefetch starts reading what lookup(a) will read first.
func (h *hostTable) prefetch(a netip.Addr) {
	k := hostAddrOf(a)
	h.addrs.prefetch(k.hash())
}

// obtain returns a's model, starting it as st when there is none; a full
// table (maxHosts) starts over first.
func (h *hostTable) obtain(a netip.Addr, st hostStat) *hostStat {
	k := hostAddrOf(a)
	hash := k.hash()
	if i := h.addrs.find(&k, hash, h.keys); i != 0 {
		return &h.stats[i-1]
	}
	if len(h.stats) >= maxHosts {
		h.addrs.clear()
		h.stats, h.keys = h.stats[:0], h.keys[:0]
	}
	h.stats = append(h.stats, st)
	h.keys = append(h.keys, k)
	h.addrs.add(h.keys, hash)
	return &h.stats[len(h.stats)-1]
}

// burst is a run of resets from one address:port, each within
// cause.BurstWindow of the previous (a listener closing resets its whole
// accept queue in one loop). Pending resets share it, so by the time one
// is explained (after its look-ahead) the burst holds the ones after it too.
type burst struct {
	lastNS int64
	n      int
	// lastEstNS is the latest handshake completion among its resets'
	// connections; descents counts the resets whose connection completed
	// its handshake more than orderSlack before that (see outOfOrder).
	lastEstNS int64
	descents  int
}

// orderSlack and bigBurst judge a burst's order (cause.Context.BurstOutOfOrder).
// Measured with tshark over bench/mktruth.sh seeds 1 and 4 and
// bench/realtruth seeds 1, 2, 3, 6 and 8, the handshake taken at the
// client's final ACK as this capture point saw it: of 846 listener-close
// bursts, none stepped back by more than orderSlack but one, a burst of
// 18 (redis, seed 8: one connection reset 438 µs out of place, its ACK
// handled late on the server's other CPU), and one stepped back by 1 µs
// (two ACKs captured in the same microsecond); of the other bursts, 1 507
// of 4 401 below bigBurst stepped back once, 317 twice or more, and of 895
// bursts of bigBurst or more, 3 once and 40 twice or more. So a burst is
// out of order when it steps back twice, or once while small.
const (
	orderSlack = 10 * time.Microsecond
	bigBurst   = 8
)

// outOfOrder says the burst's resets did not follow the order in which
// their connections completed the handshake (see orderSlack).
func (b *burst) outOfOrder() bool {
	return b.descents >= 2 || b.descents == 1 && b.n < bigBurst
}

// reset records a reset from src at ts, on a connection whose handshake
// completed at est (zero when not seen), and returns its burst.
func (h *hostTable) reset(src netip.AddrPort, tsNS int64, est time.Time) *burst {
	b := h.bursts[src]
	if b == nil || time.Duration(tsNS-b.lastNS) > cause.BurstWindow || tsNS < b.lastNS-int64(cause.BurstWindow) {
		if len(h.bursts) >= maxHosts {
			clear(h.bursts)
		}
		b = &burst{}
		h.bursts[src] = b
	}
	b.lastNS = max(b.lastNS, tsNS)
	b.n++
	if !est.IsZero() {
		e := est.UnixNano()
		if e < b.lastEstNS-int64(orderSlack) {
			b.descents++
		}
		b.lastEstNS = max(b.lastEstNS, e)
	}
	return b
}

// observe merges what one side of a connection showed of its identity
// (TTL, MAC). first calls it with a connection's first packet, merge at the
// connection's end; a reset is compared with the sender's own connection
// first and with its other flows only when that one has nothing to say.
func (h *hostTable) observe(e *flow.Endpoint) *hostStat {
	if e.Packets == uint64(e.Resets) {
		return nil // only resets: nothing trustworthy about its identity
	}
	a := e.Addr.Addr()
	st := h.obtain(a, hostStat{minTTL: e.MinTTL, maxTTL: e.MaxTTL})
	st.minTTL = min(st.minTTL, e.MinTTL)
	st.maxTTL = max(st.maxTTL, e.MaxTTL)
	st.addTTL(e.MinTTL)
	st.addTTL(e.MaxTTL)
	if e.HasMAC {
		switch {
		case !st.hasMAC:
			st.mac, st.hasMAC, st.macs = e.MAC, true, 1
		case (st.mac != e.MAC || e.MACChanges > 0) && st.macs < 2:
			st.macs = 2
		}
	}
	return st
}

func (st *hostStat) addTTL(ttl uint8) {
	for i, t := range st.ttls {
		switch t {
		case ttl:
			return
		case 0:
			st.ttls[i] = ttl
			return
		}
	}
}

// merge adds a finished connection's side to its address's model: one map
// lookup per side and connection, none per packet (the endpoint counted
// what the model needs as its packets went by).
func (h *hostTable) merge(e *flow.Endpoint) {
	st := h.observe(e)
	if st == nil {
		return
	}
	if e.Payload > 0 {
		st.talked++
	}
	st.conns++
	if e.Addr.Addr().Is4() {
		st.v4 += uint32(e.Packets - uint64(e.Resets))
		st.zeroID += e.IPIDZero
		st.df += e.DFCount
		st.idSteps += uint32(e.IPIDSteps)
		st.idUp += uint32(e.IPIDUp)
		// A counter shared by all the address's connections is where its
		// latest connection left it; int16 keeps the later of two IDs.
		if e.LastIPID != 0 && (!st.hasLastID || int16(e.LastIPID-st.lastID) > 0) {
			st.lastID, st.hasLastID = e.LastIPID, true
		}
	}
	switch {
	case e.HasTS:
		st.tsConns = satAdd(st.tsConns)
	case e.SawSYN || e.Packets-uint64(e.Resets) > 2:
		st.noTS = satAdd(st.noTS)
	}
	if e.SawSYN {
		switch o := e.SYNOpt; {
		case !st.hasSYN:
			st.syn, st.hasSYN = o, true
		case o.Len != st.syn.Len || o.HasTS != st.syn.HasTS || o.WScale != st.syn.WScale || o.MSS != st.syn.MSS:
			st.synMixed = true
		}
	}
}

func satAdd(n uint16) uint16 {
	if n < 1<<16-1 {
		n++
	}
	return n
}

// startsNearMax is how far past the address's latest IP ID a new
// connection's first ID may be and still continue the same counter: a
// random start lands within it 6 % of the time, so a counter per
// connection (Linux) is told from one per host after a few connections.
const startsNearMax = 4096

// first records the first non-reset packet of one side of a connection, so
// a flow still open tells the others what its sender looks like.
func (h *hostTable) first(p *packet.Packet) {
	e := flow.Endpoint{Addr: p.SrcAddrPort(), Packets: 1, MinTTL: p.TTL, MaxTTL: p.TTL, HasMAC: p.HasMAC, MAC: p.SrcMAC}
	st := h.observe(&e)
	if p.Flags.Has(packet.SYN) && !p.Flags.Has(packet.ACK) {
		// Fibonacci hashing spreads neighbouring ports over the buckets.
		st.synPorts |= 1 << (uint16(p.DstPort*0x9E37) >> 10)
	}
	// A SYN-ACK with ID 0 (Linux answers from the listener, without a
	// counter) says nothing about where the address's counter stands.
	if p.IPVersion == 4 && p.IPID == 0 && p.Flags.Has(packet.SYN|packet.ACK) {
		st.zeroSynAck = satAdd(st.zeroSynAck)
	}
	if p.IPVersion == 4 && p.IPID != 0 {
		if st.hasLastID {
			if d := p.IPID - st.lastID; d >= 1 && d <= startsNearMax {
				st.startsNear = satAdd(st.startsNear)
			} else {
				st.far = satAdd(st.far)
			}
		}
		st.lastID, st.hasLastID = p.IPID, true
	}
}

func (h *hostTable) get(a netip.Addr) cause.Host {
	st := h.lookup(a)
	if st == nil {
		return cause.Host{}
	}
	return cause.Host{Seen: true, MinTTL: st.minTTL, MaxTTL: st.maxTTL, MACs: int(st.macs), SYNPorts: bits.OnesCount64(st.synPorts), Talked: int(st.talked),
		TTLs: st.ttls, Conns: int(st.conns),
		V4Packets: int(st.v4), ZeroIDs: int(st.zeroID), DFPackets: int(st.df), IDSteps: int(st.idSteps), IDUp: int(st.idUp),
		StartsNear: int(st.startsNear), StartsFar: int(st.far), LastIPID: st.lastID, ZeroSYNACKs: int(st.zeroSynAck),
		TSConns: int(st.tsConns), NoTSConns: int(st.noTS), SYN: st.syn, HasSYN: st.hasSYN, SYNMixed: st.synMixed}
}
