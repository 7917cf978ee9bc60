package diagnose

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/rstscope/rstscope/cause"
)

// TestHostStatSize keeps the per-address model as small as hosts.go says:
// the table's ceiling is maxHosts of these.
func TestHostStatSize(t *testing.T) {
	if got := unsafe.Sizeof(hostStat{}); got > 96 {
		t.Errorf("hostStat is %d bytes, want at most 96 (maxHosts of them, 8 MiB with the index, is the table's ceiling)", got)
	}
}

// TestBurstOrder: a burst is out of order when its resets step back in
// handshake time (a reset's connection completed before an earlier
// reset's, by more than orderSlack) twice, or once in a burst smaller than
// bigBurst; connections whose handshake was not seen say nothing; a reset
// past BurstWindow starts a new burst.
func TestBurstOrder(t *testing.T) {
	src := netip.MustParseAddrPort("10.0.0.2:80")
	at := func(ms int) time.Time { return time.Unix(100, 0).Add(time.Duration(ms) * time.Millisecond) }
	us := func(n int) int64 { return at(1000).UnixNano() + int64(n)*1000 }
	ordered := func(n int) []time.Time {
		var es []time.Time
		for i := range n {
			es = append(es, at(i+1))
		}
		return es
	}
	bigOneBack := ordered(10)
	bigOneBack[5], bigOneBack[6] = bigOneBack[6], bigOneBack[5]
	bigTwoBack := ordered(10)
	bigTwoBack[2], bigTwoBack[3] = bigTwoBack[3], bigTwoBack[2]
	bigTwoBack[6], bigTwoBack[7] = bigTwoBack[7], bigTwoBack[6]
	tests := []struct {
		name string
		est  []time.Time // handshake completions, in the order of the resets (10 µs apart)
		want bool
	}{
		{"in queue order", []time.Time{at(1), at(2), at(3)}, false},
		{"equal times", []time.Time{at(1), at(1), at(2)}, false},
		{"one back, small burst", []time.Time{at(1), at(3), at(2)}, true},
		{"back by less than the slack", []time.Time{at(1), at(1).Add(5 * time.Microsecond), at(1)}, false},
		{"handshakes not seen", []time.Time{at(2), {}, at(3)}, false},
		{"unseen between two out of order", []time.Time{at(3), {}, at(2)}, true},
		{"one back in a big burst", bigOneBack, false},
		{"two back in a big burst", bigTwoBack, true},
	}
	for _, tt := range tests {
		h := newHostTable()
		var b *burst
		for i, e := range tt.est {
			b = h.reset(src, us(10*i), e)
		}
		if b.n != len(tt.est) || b.outOfOrder() != tt.want {
			t.Errorf("%s: burst of %d, out of order %t; want %d, %t", tt.name, b.n, b.outOfOrder(), len(tt.est), tt.want)
		}
	}
	h := newHostTable()
	h.reset(src, us(0), at(5))
	if b := h.reset(src, us(0)+int64(2*cause.BurstWindow), at(1)); b.n != 1 || b.outOfOrder() {
		t.Errorf("a reset after the window: burst of %d, out of order %t; want a new burst of 1 in order", b.n, b.outOfOrder())
	}
}

// TestHostTable: the open-addressing table against a Go map keyed by
// netip.Addr (what it replaced), through more addresses than maxHosts, so
// that both start over at the same insert; IPv4 addresses beside their
// IPv4-mapped IPv6 form, which == tells apart, and the zero Addr.
func TestHostTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := newHostTable()
	want := map[netip.Addr]uint8{}
	addr := func() netip.Addr {
		b := [16]byte{10: 0xff, 11: 0xff, 12: 10, 13: byte(rng.IntN(256)), 14: byte(rng.IntN(256)), 15: byte(rng.IntN(8))}
		switch rng.IntN(8) {
		case 0:
			return netip.AddrFrom16(b) // ::ffff:10.x.y.z
		case 1:
			b[0], b[1], b[10], b[11] = 0xfe, 0x80, 0, 0
			return netip.AddrFrom16(b)
		case 2:
			if rng.IntN(1000) == 0 {
				return netip.Addr{}
			}
		}
		return netip.AddrFrom16(b).Unmap()
	}
	for step := range 400_000 {
		a := addr()
		st := h.lookup(a)
		w, ok := want[a]
		if (st != nil) != ok || ok && st.ttls[0] != w {
			t.Fatalf("step %d: %v: table has %v, map %d (%t)", step, a, st, w, ok)
		}
		if st == nil {
			if len(want) >= maxHosts {
				clear(want)
			}
			ttl := uint8(rng.IntN(255) + 1)
			want[a] = ttl
			if got := h.obtain(a, hostStat{ttls: [4]uint8{ttl}}); got.ttls[0] != ttl {
				t.Fatalf("step %d: %v: obtained a model of TTL %d, want a new one of %d", step, a, got.ttls[0], ttl)
			}
		}
		if len(h.stats) != len(want) || h.addrs.n != len(want) || len(h.keys) != len(want) {
			t.Fatalf("step %d: table holds %d (index %d), map %d", step, len(h.stats), h.addrs.n, len(want))
		}
	}
}

// TestHostIndexBits: a slot's index bits hold every model's index + 1.
func TestHostIndexBits(t *testing.T) {
	if maxHosts >= 1<<hostIdxBits {
		t.Errorf("maxHosts %d does not fit hostIdxBits %d", maxHosts, hostIdxBits)
	}
}

// TestPortsServed: an address:port's latest data as the analyzer records
// it, known only once it was seen answering, and the table starting over
// at maxHosts like bursts.
func TestPortsServed(t *testing.T) {
	h := newHostTable()
	srv := netip.MustParseAddrPort("10.0.0.2:11211")
	if _, known := h.lastServed(srv); known {
		t.Fatal("an address:port never seen is known")
	}
	h.served(srv, 0, false) // its SYN-ACK
	if last, known := h.lastServed(srv); !known || !last.IsZero() {
		t.Fatalf("after a handshake only: got %v, %v; want zero time, known", last, known)
	}
	h.served(srv, 2e9, true)
	h.served(srv, 1e9, true) // out of order: the latest stays
	h.served(srv, 0, false)  // a later handshake keeps the data's time
	if last, _ := h.lastServed(srv); last != time.Unix(2, 0) {
		t.Fatalf("got %v, want the latest data at 2 s", last)
	}
	for i := range maxHosts {
		h.served(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80), 0, false)
	}
	if _, known := h.lastServed(srv); known {
		t.Error("the table did not start over at maxHosts address:ports")
	}
}
