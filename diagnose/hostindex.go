package diagnose

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
)

// hostIndex finds an address's model in hostTable.stats: open addressing
// with linear probing, at most half full, each slot holding the address
// itself, so a probe compares it without reading the model. It replaced a
// Go map[netip.Addr]*hostStat, which on a SYN flood from random sources
// (bench/flood.sh -k unanswered, 10 M SYNs) hashed a 24-byte key and
// allocated a model for nearly every packet: 38 % of a one-core run, as
// much as the flow table's work. A full table (maxHosts addresses) takes
// 2 × maxHosts slots of 24 bytes, 3 MB, kept when the table starts over.
//
// An address is told apart by its 16 bytes and its length, as netip.Addr's
// == tells 1.2.3.4 from ::ffff:1.2.3.4. Zones are not kept: addresses
// decoded from packets have none.
type hostIndex struct {
	slots []hostSlot
	n     int
}

type hostSlot struct {
	hi, lo uint64 // the address's 16 bytes, big-endian halves
	i      uint32 // hostTable.stats index + 1, 0 for an empty slot
	bitLen uint32 // 32 or 128 (0: the zero Addr)
}

// hostSeed keys hostHash for this process, so a flood with chosen source
// addresses cannot aim at one probe chain.
var hostSeed = [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}

func hostSlotOf(a netip.Addr) hostSlot {
	b := a.As16()
	return hostSlot{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), bitLen: uint32(a.BitLen())}
}

// hostHash is wyhash's mixing (see flow's hashOf) of the slot's address.
func hostHash(s *hostSlot) uint64 {
	h, l := bits.Mul64(s.hi^hostSeed[0], s.lo^hostSeed[1])
	h, l = bits.Mul64(h^l, uint64(s.bitLen)^hostSeed[2])
	return h ^ l
}

// find returns a's index + 1 in hostTable.stats, 0 when a is not indexed.
func (x *hostIndex) find(a netip.Addr) uint32 {
	if x.n == 0 {
		return 0
	}
	k := hostSlotOf(a)
	mask := uint64(len(x.slots) - 1)
	for s := hostHash(&k) & mask; ; s = (s + 1) & mask {
		sl := &x.slots[s]
		if sl.i == 0 {
			return 0
		}
		if sl.lo == k.lo && sl.hi == k.hi && sl.bitLen == k.bitLen {
			return sl.i
		}
	}
}

// add indexes a, which is not indexed, as index i - 1 of hostTable.stats.
func (x *hostIndex) add(a netip.Addr, i uint32) {
	if (x.n+1)*2 > len(x.slots) {
		old := x.slots
		x.slots = make([]hostSlot, max(64, 2*len(old)))
		for k := range old {
			if old[k].i != 0 {
				x.place(old[k])
			}
		}
	}
	sl := hostSlotOf(a)
	sl.i = i
	x.place(sl)
	x.n++
}

func (x *hostIndex) place(sl hostSlot) {
	mask := uint64(len(x.slots) - 1)
	s := hostHash(&sl) & mask
	for x.slots[s].i != 0 {
		s = (s + 1) & mask
	}
	x.slots[s] = sl
}

// clear empties the index, keeping its slots.
func (x *hostIndex) clear() {
	clear(x.slots)
	x.n = 0
}
