package flow

import (
	"encoding/binary"
	"runtime"
)

// attemptIndex finds attempts by key: open addressing with linear probing
// over slab indices, at most half full. A Go map[Key]uint32 took 63 MB for
// the 500 k attempts of a full table on bench/synflood (as much as the
// attempts themselves); this took 4 MB with 4-byte slots and takes 8 MB
// with the 8-byte ones below (4 MB at the default cap of 250 k), since
// the key is read from the slab. It is mapped outside the Go heap like the
// slab (on the heap it counted twice, with the collector's headroom). The
// hash is the key's own (Key.h, seeded per process), so a flood with
// chosen addresses cannot aim at one probe chain.
//
// Each slot keeps the low half of its key's hash beside the slab index: a
// probe reads the attempt (a cache miss in a slab of 250 k) only when the
// hashes agree, and deletion finds the home of the entries it shifts back
// without rebuilding their keys. With slab indices alone, deletion
// (unindexAttempt, mostly rebuilding keys with keyOf) was 23 % of the CPU
// time of a one-core run on a 10 M-SYN flood (bench/flood.sh -k
// unanswered) and findAttempt 12 %. The half is enough: the index never
// holds 1 << 32 slots.
type attemptIndex struct {
	slots []attemptSlot // mem.slots
	n     int
	mem   *indexMem
}

type attemptSlot struct {
	i uint32 // slab index, 0 for an empty slot
	h uint32 // uint32(Key.h)
}

// indexMem holds the index's slots; a cleanup unmaps them once the table
// is unreachable.
type indexMem struct {
	slots  []attemptSlot
	mapped bool
}

func (m *indexMem) release() {
	if m.mapped {
		unmapChunk(m.slots)
	}
	m.slots, m.mapped = nil, false
}

// resize gives m n empty slots, releasing the old ones.
func (m *indexMem) resize(n int) {
	m.release()
	if c, ok := mapChunk[attemptSlot](n); ok {
		m.slots, m.mapped = c, true
	} else {
		m.slots = make([]attemptSlot, n)
	}
}

// findAttempt returns the slab index of k's attempt, 0 when there is none.
func (t *Table) findAttempt(k Key) uint32 {
	x := &t.attemptIdx
	if x.n == 0 {
		return 0
	}
	mask := uint32(len(x.slots) - 1)
	h := uint32(k.h)
	for s := h & mask; ; s = (s + 1) & mask {
		sl := x.slots[s]
		if sl.i == 0 {
			return 0
		}
		if sl.h == h && t.keyIs(t.attempt(sl.i), k) {
			return sl.i
		}
	}
}

// indexAttempt adds slab index i, whose key (of hash h) is not indexed yet.
func (t *Table) indexAttempt(i uint32, h uint64) {
	x := &t.attemptIdx
	if (x.n+1)*2 > len(x.slots) {
		if x.mem == nil {
			x.mem = new(indexMem)
			runtime.AddCleanup(t, (*indexMem).release, x.mem)
		}
		old := append([]attemptSlot(nil), x.slots...) // a copy: resize releases the slots
		x.mem.resize(max(1024, 2*len(old)))
		x.slots = x.mem.slots
		for _, sl := range old {
			if sl.i != 0 {
				x.place(sl)
			}
		}
	}
	x.place(attemptSlot{i: i, h: uint32(h)})
	x.n++
}

func (x *attemptIndex) place(sl attemptSlot) {
	mask := uint32(len(x.slots) - 1)
	s := sl.h & mask
	for x.slots[s].i != 0 {
		s = (s + 1) & mask
	}
	x.slots[s] = sl
}

// unindexAttempt removes slab index i, whose key's hash is h, shifting
// back the entries after it that probed past its slot (no tombstones, so
// chains stay short).
func (t *Table) unindexAttempt(i uint32, h uint64) {
	x := &t.attemptIdx
	mask := uint32(len(x.slots) - 1)
	s := uint32(h) & mask
	for x.slots[s].i != i {
		s = (s + 1) & mask
	}
	for {
		x.slots[s] = attemptSlot{}
		next := s
		for {
			next = (next + 1) & mask
			sl := x.slots[next]
			if sl.i == 0 {
				x.n--
				return
			}
			home := sl.h & mask
			// sl may move to s if its home is not in the cyclic range (s, next].
			if (next > s && (home <= s || home > next)) || (next < s && home <= s && home > next) {
				x.slots[s] = sl
				s = next
				break
			}
		}
	}
}

// keyIs reports whether a's key is k (its hash aside), without building
// a's key.
func (t *Table) keyIs(a *attempt, k Key) bool {
	if a.loP != k.loP || a.hiP != k.hiP {
		return false
	}
	if a.bits&attKey6 != 0 {
		p := t.addrs6.at(binary.LittleEndian.Uint32(a.addr[0][:]), addrChunk)
		return p[0] == k.lo && p[1] == k.hi
	}
	return [4]byte(k.lo[12:]) == a.addr[0] && [4]byte(k.hi[12:]) == a.addr[1] &&
		[12]byte(k.lo[:12]) == v4Prefix && [12]byte(k.hi[:12]) == v4Prefix
}
