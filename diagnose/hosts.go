package diagnose

import (
	"net/netip"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/packet"
)

// maxHosts bounds the per-address table; past it the table starts over, so
// memory stays bounded on captures with millions of addresses.
const maxHosts = 1 << 16

// hostStat is what one address showed across its flows (resets excluded).
type hostStat struct {
	minTTL, maxTTL uint8
	mac            [6]byte
	hasMAC         bool
	macs           uint8
}

type hostTable struct{ m map[netip.Addr]*hostStat }

func newHostTable() hostTable { return hostTable{m: make(map[netip.Addr]*hostStat)} }

func (h *hostTable) observe(p *packet.Packet) {
	if p.Flags.Has(packet.RST) {
		return
	}
	st := h.m[p.Src]
	if st == nil {
		if len(h.m) >= maxHosts {
			clear(h.m)
		}
		st = &hostStat{minTTL: p.TTL, maxTTL: p.TTL}
		h.m[p.Src] = st
	}
	st.minTTL = min(st.minTTL, p.TTL)
	st.maxTTL = max(st.maxTTL, p.TTL)
	if p.HasMAC {
		switch {
		case !st.hasMAC:
			st.mac, st.hasMAC, st.macs = p.SrcMAC, true, 1
		case st.mac != p.SrcMAC && st.macs < 2:
			st.macs = 2
		}
	}
}

func (h *hostTable) get(a netip.Addr) cause.Host {
	st := h.m[a]
	if st == nil {
		return cause.Host{}
	}
	return cause.Host{Seen: true, MinTTL: st.minTTL, MaxTTL: st.maxTTL, MACs: int(st.macs)}
}
