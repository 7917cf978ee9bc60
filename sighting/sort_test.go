package sighting

import (
	"math/rand/v2"
	"testing"
)

// TestSortKeys: sorted by key with the kind folded in, and stable (node
// order kept within equal keys), on random keys with many duplicates and a
// digit all keys share.
func TestSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]keyed, 100_000)
	for i := range keys {
		// 2^20 distinct values in the low bits, so many repeat; the bits
		// 33 to 43 are the same in every key (a pass skipped).
		keys[i] = keyed{key: r.Uint64()&(1<<20-1) | 0x5a5<<33, node: int32(i), kind: uint8(r.IntN(5))}
	}
	want := make(map[uint64]int, len(keys))
	for _, k := range keys {
		want[k.key^uint64(k.kind)<<61]++
	}
	got := sortKeys(keys)
	if len(got) != len(keys) {
		t.Fatalf("got %d keys, want %d", len(got), len(keys))
	}
	for i, k := range got {
		want[k.key]--
		if i == 0 {
			continue
		}
		p := got[i-1]
		switch {
		case p.key > k.key:
			t.Fatalf("key %d (%#x) before %d (%#x): not sorted", i-1, p.key, i, k.key)
		case p.key == k.key && p.node > k.node:
			t.Fatalf("equal keys at %d and %d: node %d before %d, not stable", i-1, i, p.node, k.node)
		}
	}
	for k, n := range want {
		if n != 0 {
			t.Fatalf("key %#x: %d more in than out", k, n)
		}
	}
}
