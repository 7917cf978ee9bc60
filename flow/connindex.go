package flow

// connIndex finds tracked Conns by key: open addressing with linear
// probing, at most half full, each slot holding the key's hash beside the
// Conn so a probe compares keys only when the hashes agree. It replaced a
// Go map[Key]*Conn, which hashed the 36-byte key on every lookup (see
// Key). Deletion shifts back the entries after the freed slot, as
// attemptIndex does, so there are no tombstones.
type connIndex struct {
	slots []connSlot
	n     int
}

type connSlot struct {
	h uint64
	c *Conn
}

// find returns the Conn with key k, or nil.
func (x *connIndex) find(k *Key) *Conn {
	if x.n == 0 {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	for s := k.h & mask; ; s = (s + 1) & mask {
		sl := &x.slots[s]
		if sl.c == nil {
			return nil
		}
		if sl.h == k.h && sl.c.Key == *k {
			return sl.c
		}
	}
}

// add indexes c, whose key is not indexed yet.
func (x *connIndex) add(c *Conn) {
	if (x.n+1)*2 > len(x.slots) {
		old := x.slots
		x.slots = make([]connSlot, max(1024, 2*len(old)))
		for _, sl := range old {
			if sl.c != nil {
				x.place(sl)
			}
		}
	}
	x.place(connSlot{h: c.Key.h, c: c})
	x.n++
}

func (x *connIndex) place(sl connSlot) {
	mask := uint64(len(x.slots) - 1)
	s := sl.h & mask
	for x.slots[s].c != nil {
		s = (s + 1) & mask
	}
	x.slots[s] = sl
}

// remove unindexes c, which is indexed.
func (x *connIndex) remove(c *Conn) {
	mask := uint64(len(x.slots) - 1)
	s := c.Key.h & mask
	for x.slots[s].c != c {
		s = (s + 1) & mask
	}
	for {
		x.slots[s] = connSlot{}
		next := s
		for {
			next = (next + 1) & mask
			sl := x.slots[next]
			if sl.c == nil {
				x.n--
				return
			}
			h := sl.h & mask
			// sl may move to s if its home is not in the cyclic range (s, next].
			if (next > s && (h <= s || h > next)) || (next < s && h <= s && h > next) {
				x.slots[s] = sl
				s = next
				break
			}
		}
	}
}
