package diagnose

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"unsafe"

	"github.com/rstscope/rstscope/internal/prefetch"
)

// hostIndex finds an address's model in hostTable.stats: open addressing
// with linear probing, at most half full. It replaced a Go
// map[netip.Addr]*hostStat, which on a SYN flood from random sources
// (bench/flood.sh -k unanswered, 10 M SYNs) hashed a 24-byte key and
// allocated a model for nearly every packet: 38 % of a one-core run, as
// much as the flow table's work.
//
// On that flood nearly every lookup misses (each SYN's source is new, and
// is looked up again when its attempt leaves the table, past several
// start-overs), so a lookup costs what reading its slot from memory costs.
// A slot is therefore 4 bytes, the model's index beside a few bits of the
// hash: a full table (maxHosts) takes 2 × maxHosts slots, 512 KiB, the
// size of one core's L2 cache here, where 24-byte slots holding the
// address (3 MB) were 21 % of that run in the probe's first read alone.
// The addresses sit beside the models (hostTable.addrs), read only when
// the hash bits agree.
type hostIndex struct {
	slots []uint32 // tag<<hostIdxBits | index + 1 in hostTable.stats; 0 for empty
	n     int
}

// hostIdxBits holds a model's index + 1, at most maxHosts
// (TestHostIndexBits); the slot's other bits are a tag from the hash.
const hostIdxBits = 17

// hostAddr is an address as the index compares it: its 16 bytes and its
// length, as netip.Addr's == tells 1.2.3.4 from ::ffff:1.2.3.4. Zones are
// not kept: addresses decoded from packets have none.
type hostAddr struct {
	hi, lo uint64 // big-endian halves
	bitLen uint32 // 32 or 128 (0: the zero Addr)
}

func hostAddrOf(a netip.Addr) hostAddr {
	b := a.As16()
	return hostAddr{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), bitLen: uint32(a.BitLen())}
}

// hostSeed keys hash for this process, so a flood with chosen source
// addresses cannot aim at one probe chain.
var hostSeed = [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}

// hash is wyhash's mixing (see flow's hashOf) of the address.
func (k *hostAddr) hash() uint64 {
	h, l := bits.Mul64(k.hi^hostSeed[0], k.lo^hostSeed[1])
	h, l = bits.Mul64(h^l, uint64(k.bitLen)^hostSeed[2])
	return h ^ l
}

// tag is the slot bits of hash h beside the index: its top bits, which
// no table of fewer than 1 << 47 slots uses for the home slot.
func tag(h uint64) uint32 { return uint32(h>>(64-(32-hostIdxBits))) << hostIdxBits }

// find returns k's index + 1 in addrs (hostTable.keys), 0 when k is not
// indexed; h is k's hash.
func (x *hostIndex) find(k *hostAddr, h uint64, addrs []hostAddr) uint32 {
	if x.n == 0 {
		return 0
	}
	t := tag(h)
	mask := uint64(len(x.slots) - 1)
	for s := h & mask; ; s = (s + 1) & mask {
		sl := x.slots[s]
		if sl == 0 {
			return 0
		}
		if sl&^(1<<hostIdxBits-1) == t {
			if i := sl & (1<<hostIdxBits - 1); addrs[i-1] == *k {
				return i
			}
		}
	}
}

// prefetch starts reading the home slot of hash h (see internal/prefetch).
func (x *hostIndex) prefetch(h uint64) {
	if x.n == 0 {
		return
	}
	prefetch.Line(unsafe.Pointer(&x.slots[h&uint64(len(x.slots)-1)]))
}

// add indexes addrs' last address, of hash h, which is not indexed yet.
func (x *hostIndex) add(addrs []hostAddr, h uint64) {
	if (x.n+1)*2 > len(x.slots) {
		x.slots = make([]uint32, max(64, 2*len(x.slots)))
		for i := range addrs[:len(addrs)-1] {
			x.place(addrs[i].hash(), uint32(i+1))
		}
	}
	x.place(h, uint32(len(addrs)))
	x.n++
}

func (x *hostIndex) place(h uint64, i uint32) {
	mask := uint64(len(x.slots) - 1)
	s := h & mask
	for x.slots[s] != 0 {
		s = (s + 1) & mask
	}
	x.slots[s] = tag(h) | i
}

// clear empties the index, keeping its slots.
func (x *hostIndex) clear() {
	clear(x.slots)
	x.n = 0
}
