package diagnose

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/packet"
)

// TestSenderSnapWords: senderSnap holds no pointers (encodeSnap copies it
// as words, which would hide a pointer from the collector), and a snapshot
// comes back from its encoding field for field, whichever fields are set.
func TestSenderSnapWords(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		switch ty.Kind() {
		case reflect.Struct:
			for i := range ty.NumField() {
				walk(ty.Field(i).Type, path+"."+ty.Field(i).Name)
			}
		case reflect.Array:
			walk(ty.Elem(), path+"[]")
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		default:
			t.Errorf("senderSnap%s is a %s: encodeSnap copies words and must not hold pointers", path, ty.Kind())
		}
	}
	walk(reflect.TypeOf(senderSnap{}), "")

	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		s := senderSnap{dstMAC: [6]byte{byte(i)}, link: packet.LinkType(rng.IntN(300)), vlans: uint8(rng.IntN(3))}
		h := &s.host
		if rng.IntN(2) == 0 {
			*h = cause.Host{Seen: true, MinTTL: uint8(rng.Uint32()), MaxTTL: 64, MACs: rng.IntN(3), SYNPorts: rng.IntN(65),
				TTLs: [4]uint8{uint8(rng.Uint32()), 0, 3}, Conns: rng.IntN(1 << 20), V4Packets: rng.Int(), LastIPID: uint16(rng.Uint32()),
				SYN: packet.Options{MSS: 1460, HasMSS: true, TSVal: rng.Uint32(), HasTS: rng.IntN(2) == 0, Len: 20}, HasSYN: true, SYNMixed: rng.IntN(2) == 0}
		}
		var q compactQueue
		q.push(compactReset{slot: uint32(i)}, &s)
		var got senderSnap
		decodeSnap(q.chunks[0].snaps, &got)
		if got != s {
			t.Fatalf("%d: decoded %+v, want %+v", i, got, s)
		}
	}
}

// TestCompactQueueOrder: resets come out of the queue in the order they
// went in, across chunks, each with its own snapshot (shared ones
// included), but for those removed; find locates any not yet emitted by
// frame (here the slot, times two).
func TestCompactQueueOrder(t *testing.T) {
	frameOf := func(r *compactReset) uint64 { return 2 * uint64(r.slot) }
	var q compactQueue
	removed := map[uint32]bool{}
	next, out := uint32(1), uint32(1)
	for round := range 5 {
		for range 1500 + round*700 {
			s := senderSnap{host: cause.Host{Conns: int(next / 3)}} // three resets share each
			q.push(compactReset{slot: next}, &s)
			next++
		}
		// Take out one in the middle, one at the end.
		for _, slot := range []uint32{(out + next) / 2, next - 1} {
			i, j := q.find(2*uint64(slot), frameOf)
			if i < 0 || q.chunks[i].rs[j].slot != slot {
				t.Fatalf("round %d: find(%d) = %d, %d", round, 2*slot, i, j)
			}
			q.remove(i, j)
			removed[slot] = true
		}
		for n := range 1000 + round*500 {
			for removed[out] {
				out++
			}
			r, c := q.peek()
			if r == nil {
				t.Fatalf("round %d: empty after %d", round, n)
			}
			var s senderSnap
			decodeSnap(c.snaps[r.snap:], &s)
			if r.slot != out || s.host.Conns != int(out/3) {
				t.Fatalf("round %d: got slot %d (conns %d), want %d (%d)", round, r.slot, s.host.Conns, out, out/3)
			}
			if i, j := q.find(2*uint64(out), frameOf); i < 0 || &q.chunks[i].rs[j] != r {
				t.Fatalf("round %d: find(%d) is not the head", round, 2*out)
			}
			if i, _ := q.find(2*uint64(out)+1, frameOf); i >= 0 {
				t.Fatalf("round %d: find(%d) found one", round, 2*out+1)
			}
			q.pop()
			out++
		}
	}
}

// TestCompactResetSize: a compact reset is 24 bytes (its Ref, frame and
// time are read back from the table's slabs); at 48, holding them itself,
// the 400 k resets in the look-ahead of a 200 k/s flood answered by
// RST+ACK took 19 MB of heap and the flood peaked at 159-161 MiB, at 24
// 151 MiB. The test fails if it grows, so that growth is a decision.
func TestCompactResetSize(t *testing.T) {
	if n := unsafe.Sizeof(compactReset{}); n > 24 {
		t.Errorf("compactReset is %d bytes, more than the 24 measured", n)
	}
}
