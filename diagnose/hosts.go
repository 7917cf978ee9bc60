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

// hostStat is what one address showed across its finished flows (resets excluded).
type hostStat struct {
	minTTL, maxTTL uint8
	mac            [6]byte
	hasMAC         bool
	macs           uint8
	// synPorts has a bit set for each bucket of destination ports the
	// address sent a SYN to (64 buckets): a scanner's mark.
	synPorts uint64
	// talked counts finished connections on which the address sent data.
	talked uint32
}

// hostTable holds what each address showed, and the bursts of resets each
// address:port sent.
type hostTable struct {
	m      map[netip.Addr]*hostStat
	bursts map[netip.AddrPort]*burst
}

func newHostTable() hostTable {
	return hostTable{m: make(map[netip.Addr]*hostStat), bursts: make(map[netip.AddrPort]*burst)}
}

// burst is a run of resets from one address:port, each within
// cause.BurstWindow of the previous (a listener closing resets its whole
// accept queue in one loop). Pending resets share it, so by the time one
// is explained (after its look-ahead) the burst holds the ones after it too.
type burst struct {
	lastNS int64
	n      int
}

// reset records a reset from src at ts and returns its burst.
func (h *hostTable) reset(src netip.AddrPort, tsNS int64) *burst {
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
	return b
}

// observe merges what one side of a finished connection showed. Merging
// per connection rather than per packet keeps the hot path free of a second
// map lookup; a reset is compared with the sender's own connection first
// and with its other flows only when that one has nothing to say.
func (h *hostTable) observe(e *flow.Endpoint) *hostStat {
	if e.Packets == uint64(e.Resets) {
		return nil // only resets: nothing trustworthy about its identity
	}
	a := e.Addr.Addr()
	st := h.m[a]
	if st == nil {
		if len(h.m) >= maxHosts {
			clear(h.m)
		}
		st = &hostStat{minTTL: e.MinTTL, maxTTL: e.MaxTTL}
		h.m[a] = st
	}
	if e.Payload > 0 {
		st.talked++
	}
	st.minTTL = min(st.minTTL, e.MinTTL)
	st.maxTTL = max(st.maxTTL, e.MaxTTL)
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

// talked counts a finished connection on which a carried data.
func (h *hostTable) talked(a netip.Addr) {
	if st := h.m[a]; st != nil {
		st.talked++
	}
}

// first records the first non-reset packet of one side of a connection, so
// a flow still open tells the others what its sender looks like.
func (h *hostTable) first(p *packet.Packet) {
	e := flow.Endpoint{Addr: p.SrcAddrPort(), Packets: 1, MinTTL: p.TTL, MaxTTL: p.TTL, HasMAC: p.HasMAC, MAC: p.SrcMAC}
	st := h.observe(&e)
	if p.Flags.Has(packet.SYN) && !p.Flags.Has(packet.ACK) {
		// Fibonacci hashing spreads neighbouring ports over the buckets.
		st.synPorts |= 1 << (uint16(p.DstPort*0x9E37) >> 10)
	}
}

func (h *hostTable) get(a netip.Addr) cause.Host {
	st := h.m[a]
	if st == nil {
		return cause.Host{}
	}
	return cause.Host{Seen: true, MinTTL: st.minTTL, MaxTTL: st.maxTTL, MACs: int(st.macs), SYNPorts: bits.OnesCount64(st.synPorts), Talked: int(st.talked)}
}
