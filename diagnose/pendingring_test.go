package diagnose

import (
	"math/rand/v2"
	"reflect"
	"testing"

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
		q.push(compactReset{frame: uint64(i)}, &s)
		var got senderSnap
		decodeSnap(q.chunks[0].snaps, &got)
		if got != s {
			t.Fatalf("%d: decoded %+v, want %+v", i, got, s)
		}
	}
}

// TestCompactQueueOrder: resets come out of the queue in the order they
// went in, across chunks, each with its own snapshot (shared ones
// included), and find locates any not yet emitted by frame.
func TestCompactQueueOrder(t *testing.T) {
	var q compactQueue
	next, out := uint64(1), uint64(1)
	for round := range 5 {
		for range 1500 + round*700 {
			s := senderSnap{host: cause.Host{Conns: int(next / 3)}} // three resets share each
			q.push(compactReset{frame: 2 * next, ns: int64(next)}, &s)
			next++
		}
		if r, _ := q.find(2 * (next - 1)); r == nil || r.ns != int64(next-1) {
			t.Fatalf("round %d: find the latest: %+v", round, r)
		}
		for n := range 1000 + round*500 {
			r, c := q.peek()
			if r == nil {
				t.Fatalf("round %d: empty after %d", round, n)
			}
			var s senderSnap
			decodeSnap(c.snaps[r.snap:], &s)
			if r.frame != 2*out || s.host.Conns != int(out/3) {
				t.Fatalf("round %d: got frame %d (conns %d), want %d (%d)", round, r.frame, s.host.Conns, 2*out, out/3)
			}
			if f, _ := q.find(2 * out); f != r {
				t.Fatalf("round %d: find(%d) is not the head", round, 2*out)
			}
			if f, _ := q.find(2*out + 1); f != nil {
				t.Fatalf("round %d: find(%d) found %+v", round, 2*out+1, f)
			}
			q.pop()
			out++
		}
	}
}
