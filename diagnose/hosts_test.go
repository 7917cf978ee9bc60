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

// TestBurstOrder: a burst is out of order when a reset's connection
// completed its handshake before an earlier reset's did (a listener's close
// resets its queue in handshake order); connections whose handshake was
// not seen say nothing; a reset past BurstWindow starts a new burst.
func TestBurstOrder(t *testing.T) {
	src := netip.MustParseAddrPort("10.0.0.2:80")
	at := func(ms int) time.Time { return time.Unix(100, 0).Add(time.Duration(ms) * time.Millisecond) }
	us := func(n int) int64 { return at(1000).UnixNano() + int64(n)*1000 }
	tests := []struct {
		name string
		est  []time.Time // handshake completions, in the order of the resets (10 µs apart)
		want bool
	}{
		{"in queue order", []time.Time{at(1), at(2), at(3)}, false},
		{"equal times", []time.Time{at(1), at(1), at(2)}, false},
		{"one out of order", []time.Time{at(1), at(3), at(2)}, true},
		{"handshakes not seen", []time.Time{at(2), {}, at(3)}, false},
		{"unseen between two out of order", []time.Time{at(3), {}, at(2)}, true},
	}
	for _, tt := range tests {
		h := newHostTable()
		var b *burst
		for i, e := range tt.est {
			b = h.reset(src, us(10*i), e)
		}
		if b.n != len(tt.est) || b.outOfOrder != tt.want {
			t.Errorf("%s: burst of %d, out of order %t; want %d, %t", tt.name, b.n, b.outOfOrder, len(tt.est), tt.want)
		}
	}
	h := newHostTable()
	h.reset(src, us(0), at(5))
	if b := h.reset(src, us(0)+int64(2*cause.BurstWindow), at(1)); b.n != 1 || b.outOfOrder {
		t.Errorf("a reset after the window: burst of %d, out of order %t; want a new burst of 1 in order", b.n, b.outOfOrder)
	}
}
