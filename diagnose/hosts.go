package diagnose

import (
	"github.com/rstscope/rstscope/packet"
	"net/netip"

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
}

type hostTable struct{ m map[netip.Addr]*hostStat }

func newHostTable() hostTable { return hostTable{m: make(map[netip.Addr]*hostStat)} }

// observe merges what one side of a finished connection showed. Merging
// per connection rather than per packet keeps the hot path free of a second
// map lookup; a reset is compared with the sender's own connection first
// and with its other flows only when that one has nothing to say.
func (h *hostTable) observe(e *flow.Endpoint) {
	if e.Packets == uint64(e.Resets) {
		return // only resets: nothing trustworthy about its identity
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
}

// first records the first non-reset packet of one side of a connection, so
// a flow still open tells the others what its sender looks like.
func (h *hostTable) first(p *packet.Packet) {
	e := flow.Endpoint{Addr: p.SrcAddrPort(), Packets: 1, MinTTL: p.TTL, MaxTTL: p.TTL, HasMAC: p.HasMAC, MAC: p.SrcMAC}
	h.observe(&e)
}

func (h *hostTable) get(a netip.Addr) cause.Host {
	st := h.m[a]
	if st == nil {
		return cause.Host{}
	}
	return cause.Host{Seen: true, MinTTL: st.minTTL, MaxTTL: st.maxTTL, MACs: int(st.macs)}
}
