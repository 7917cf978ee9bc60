package flow

import "runtime"

// attemptIndex finds attempts by key: open addressing with linear probing
// over slab indices, at most half full. A Go map[Key]uint32 took 63 MB for
// the 500 k attempts of a full table on bench/synflood (as much as the
// attempts themselves); this takes 4 MB, since the key is read from the
// slab, mapped outside the Go heap like the slab (on the heap it counted
// twice, with the collector's headroom). The hash is the key's own (Key.h,
// seeded per process), so a flood with chosen addresses cannot aim at one
// probe chain.
type attemptIndex struct {
	slots []uint32 // slab index + 1, 0 for empty; mem.slots
	n     int
	mem   *indexMem
}

// indexMem holds the index's slots; a cleanup unmaps them once the table
// is unreachable.
type indexMem struct {
	slots  []uint32
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
	if c, ok := mapChunk[uint32](n); ok {
		m.slots, m.mapped = c, true
	} else {
		m.slots = make([]uint32, n)
	}
}

func (x *attemptIndex) home(k Key) int {
	return int(k.h & uint64(len(x.slots)-1))
}

// find returns the slab index of k's attempt, 0 when there is none.
func (t *Table) findAttempt(k Key) uint32 {
	x := &t.attemptIdx
	if x.n == 0 {
		return 0
	}
	mask := len(x.slots) - 1
	for s := x.home(k); ; s = (s + 1) & mask {
		i := x.slots[s]
		if i == 0 {
			return 0
		}
		if t.keyIs(t.attempt(i), k) {
			return i
		}
	}
}

// indexAttempt adds slab index i, whose key is not indexed yet.
func (t *Table) indexAttempt(i uint32) {
	x := &t.attemptIdx
	if (x.n+1)*2 > len(x.slots) {
		if x.mem == nil {
			x.mem = new(indexMem)
			runtime.AddCleanup(t, (*indexMem).release, x.mem)
		}
		old := append([]uint32(nil), x.slots...) // a copy: resize releases the slots
		x.mem.resize(max(1024, 2*len(old)))
		x.slots = x.mem.slots
		for _, j := range old {
			if j != 0 {
				t.place(j)
			}
		}
	}
	t.place(i)
	x.n++
}

func (t *Table) place(i uint32) {
	x := &t.attemptIdx
	mask := len(x.slots) - 1
	s := x.home(t.keyOf(t.attempt(i)))
	for x.slots[s] != 0 {
		s = (s + 1) & mask
	}
	x.slots[s] = i
}

// unindexAttempt removes slab index i, shifting back the entries after it
// that probed past its slot (no tombstones, so chains stay short).
func (t *Table) unindexAttempt(i uint32) {
	x := &t.attemptIdx
	mask := len(x.slots) - 1
	s := x.home(t.keyOf(t.attempt(i)))
	for x.slots[s] != i {
		s = (s + 1) & mask
	}
	for {
		x.slots[s] = 0
		next := s
		for {
			next = (next + 1) & mask
			j := x.slots[next]
			if j == 0 {
				x.n--
				return
			}
			h := x.home(t.keyOf(t.attempt(j)))
			// j may move to s if its home is not in the cyclic range (s, next].
			if (next > s && (h <= s || h > next)) || (next < s && h <= s && h > next) {
				x.slots[s] = j
				s = next
				break
			}
		}
	}
}

// keyIs reports whether a's key is k, without building a's key for an
// IPv4 one.
func (t *Table) keyIs(a *attempt, k Key) bool {
	if a.loP != k.loP || a.hiP != k.hiP {
		return false
	}
	if a.bits&attKey6 != 0 {
		return t.keyOf(a) == k
	}
	return [4]byte(k.lo[12:]) == a.addr[0] && [4]byte(k.hi[12:]) == a.addr[1] &&
		[12]byte(k.lo[:12]) == v4Prefix && [12]byte(k.hi[:12]) == v4Prefix
}
