package flow

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/rstscope/rstscope/packet"
)

// TestConnIndex adds and removes Conns in a random order and checks every
// lookup against a Go map, the index it replaced.
func TestConnIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x connIndex
	want := map[Key]*Conn{}
	var live []*Conn
	for step := range 200000 {
		if len(live) > 0 && (rng.IntN(3) == 0 || len(live) > 5000) {
			i := rng.IntN(len(live))
			c := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			x.remove(c)
			delete(want, c.Key)
		} else {
			// Few distinct addresses and ports, so keys collide in their
			// home slots and chains form.
			a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(8))}), uint16(rng.IntN(64)))
			b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(rng.IntN(8))}), 80)
			k, _ := MakeKey(a, b)
			if want[k] == nil {
				c := &Conn{Key: k, ID: uint64(step)}
				x.add(c)
				want[k] = c
				live = append(live, c)
			}
		}
		if x.n != len(want) {
			t.Fatalf("step %d: index holds %d, want %d", step, x.n, len(want))
		}
		if step%1000 == 0 {
			for k, c := range want {
				if got := x.find(&k); got != c {
					t.Fatalf("step %d: find(%v) = %p, want %p", step, k, got, c)
				}
			}
		}
	}
	for _, c := range live {
		x.remove(c)
	}
	if x.n != 0 {
		t.Errorf("after removing all: %d left", x.n)
	}
	k, _ := MakeKey(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"))
	if c := x.find(&k); c != nil {
		t.Errorf("empty index found %v", c)
	}
}

// TestSrcIsLo checks Key.srcIsLo against MakeKey's own answer, including
// a connection whose two ends are the same address and port.
func TestSrcIsLo(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, pair := range [][2]netip.AddrPort{
		{ap("10.0.0.1:40000"), ap("10.0.0.2:80")},
		{ap("10.0.0.2:80"), ap("10.0.0.1:40000")},
		{ap("127.0.0.1:5000"), ap("127.0.0.1:5000")},
		{ap("[2001:db8::1]:443"), ap("[2001:db8::2]:50000")},
		{ap("[2001:db8::2]:50000"), ap("[2001:db8::1]:443")},
	} {
		k, lo := MakeKey(pair[0], pair[1])
		p := packetFrom(pair[0], pair[1])
		if got := k.srcIsLo(&p); got != lo {
			t.Errorf("%v -> %v: srcIsLo = %v, MakeKey says %v", pair[0], pair[1], got, lo)
		}
		if k2, _ := MakeKey(pair[1], pair[0]); k2 != k || k2.h != hashOf(&k.lo, &k.hi, k.loP, k.hiP) {
			t.Errorf("%v -> %v: keys or hashes differ by direction", pair[0], pair[1])
		}
	}
}

func packetFrom(src, dst netip.AddrPort) packet.Packet {
	return packet.Packet{Src: src.Addr(), SrcPort: src.Port(), Dst: dst.Addr(), DstPort: dst.Port()}
}
