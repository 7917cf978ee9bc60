package kernel

import (
	"hash/maphash"
	"unsafe"
)

// table maps a tuple to the latest held event with it: open addressing,
// linear probing, and backward-shift deletion, so a slot freed is empty
// again at once. A flood is one insert and one delete per reset on ever
// new tuples; Go's maps under that churn spent a third of the correlator's
// time matching control bytes and comparing keys along probe sequences
// (BenchmarkCorrelator, pprof: matchH2 26 %, memeqbody 14 %).
//
// The hash is seeded per table (hash/maphash), so tuples chosen by a
// remote sender cannot be made to collide.
type table struct {
	slots []slot
	mask  uint64
	used  int
	seed  maphash.Seed
}

type slot struct {
	hash uint64
	key  tupleKey
	h    *held // nil: empty
}

// minSlots is the table's first size; it doubles at half full.
const minSlots = 256

func (t *table) hash(k *tupleKey) uint64 {
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
		t.slots = make([]slot, minSlots)
		t.mask = minSlots - 1
	}
	// tupleKey is 40 bytes of plain memory (see its comment).
	return maphash.Bytes(t.seed, (*[unsafe.Sizeof(tupleKey{})]byte)(unsafe.Pointer(k))[:])
}

// get returns the held event indexed under k, or nil.
func (t *table) get(k tupleKey) *held {
	if t.used == 0 {
		return nil
	}
	hv := t.hash(&k)
	for i := hv & t.mask; t.slots[i].h != nil; i = (i + 1) & t.mask {
		if s := &t.slots[i]; s.hash == hv && s.key == k {
			return s.h
		}
	}
	return nil
}

// put indexes h under k, replacing what was there.
func (t *table) put(k tupleKey, h *held) {
	hv := t.hash(&k)
	i := hv & t.mask
	for ; t.slots[i].h != nil; i = (i + 1) & t.mask {
		if s := &t.slots[i]; s.hash == hv && s.key == k {
			s.h = h
			return
		}
	}
	t.slots[i] = slot{hv, k, h}
	t.used++
	if 2*t.used > len(t.slots) {
		t.grow()
	}
}

// del removes k if it still points at h.
func (t *table) del(k tupleKey, h *held) {
	if t.used == 0 {
		return
	}
	hv := t.hash(&k)
	i := hv & t.mask
	for ; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.h == nil {
			return
		}
		if s.hash == hv && s.key == k {
			if s.h != h {
				return
			}
			break
		}
	}
	// Backward shift: pull each following entry of the run into the hole
	// when its home slot is at or before the hole.
	for j := (i + 1) & t.mask; t.slots[j].h != nil; j = (j + 1) & t.mask {
		home := t.slots[j].hash & t.mask
		if (j-home)&t.mask >= (j-i)&t.mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot{}
	t.used--
}

func (t *table) grow() {
	old := t.slots
	t.slots = make([]slot, 2*len(old))
	t.mask = uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.h == nil {
			continue
		}
		i := s.hash & t.mask
		for t.slots[i].h != nil {
			i = (i + 1) & t.mask
		}
		t.slots[i] = s
	}
}
