package kernel

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestTupleKeyPlain: table hashes tupleKey as raw bytes, which is only
// right while it has no padding (and no pointers: fields are arrays and
// integers).
func TestTupleKeyPlain(t *testing.T) {
	if got := unsafe.Sizeof(tupleKey{}); got != 16+16+2+2+4 {
		t.Errorf("got sizeof(tupleKey) %d, want 40: padding would be hashed", got)
	}
}

// TestTable runs random puts, conditional deletes and gets on a table and
// on a Go map side by side; few distinct keys, so runs collide, wrap and
// shift often, and the table grows past its first size.
func TestTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tb table
	want := map[tupleKey]*held{}
	helds := make([]*held, 16)
	for i := range helds {
		helds[i] = new(held)
	}
	key := func() tupleKey {
		var k tupleKey
		k.fport = uint16(rng.IntN(600))
		k.netns = uint32(rng.IntN(2))
		return k
	}
	for i := 0; i < 200000; i++ {
		k := key()
		switch rng.IntN(3) {
		case 0:
			h := helds[rng.IntN(len(helds))]
			tb.put(k, h)
			want[k] = h
		case 1:
			h := helds[rng.IntN(len(helds))]
			tb.del(k, h)
			if want[k] == h {
				delete(want, k)
			}
		case 2:
			if got := tb.get(k); got != want[k] {
				t.Fatalf("step %d: get %+v: got %p, want %p", i, k, got, want[k])
			}
		}
		if tb.used != len(want) {
			t.Fatalf("step %d: table holds %d, want %d", i, tb.used, len(want))
		}
	}
	for k, h := range want {
		if got := tb.get(k); got != h {
			t.Fatalf("end: get %+v: got %p, want %p", k, got, h)
		}
	}
	if len(tb.slots) <= minSlots {
		t.Errorf("table never grew (%d slots): the test does not cover growth", len(tb.slots))
	}
}
