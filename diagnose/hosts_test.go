package diagnose

import (
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
		t.Errorf("hostStat is %d bytes, want at most 96 (maxHosts of them, about 9 MB with the map, is the table's ceiling)", got)
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
