package flow

import "hash/maphash"

// attemptIndex finds attempts by key: open addressing with linear probing
// over slab indices, at most half full. A Go map[Key]uint32 took 63 MB for
// the 500 k attempts of a full table on bench/synflood (as much as the
// attempts themselves); this takes 4 MB, since the key is read from the
// slab. The hash is the runtime's seeded one (maphash), so a flood with
// chosen addresses cannot aim at one probe chain.
type attemptIndex struct {
	slots []uint32 // slab index + 1, 0 for empty
	n     int
	seed  maphash.Seed
}

func (x *attemptIndex) home(k Key) int {
	return int(maphash.Comparable(x.seed, k) & uint64(len(x.slots)-1))
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
		if t.attempt(i).key == k {
			return i
		}
	}
}

// indexAttempt adds slab index i, whose key is not indexed yet.
func (t *Table) indexAttempt(i uint32) {
	x := &t.attemptIdx
	if (x.n+1)*2 > len(x.slots) {
		old := x.slots
		x.slots = make([]uint32, max(1024, 2*len(old)))
		if x.n == 0 {
			x.seed = maphash.MakeSeed()
		}
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
	s := x.home(t.attempt(i).key)
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
	s := x.home(t.attempt(i).key)
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
			h := x.home(t.attempt(j).key)
			// j may move to s if its home is not in the cyclic range (s, next].
			if (next > s && (h <= s || h > next)) || (next < s && h <= s && h > next) {
				x.slots[s] = j
				s = next
				break
			}
		}
	}
}
