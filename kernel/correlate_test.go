package kernel

import (
	"net/netip"
	"testing"
	"time"
)

func TestCorrelator(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.1:80")
	b := netip.MustParseAddrPort("10.0.0.2:40000")
	c := netip.MustParseAddrPort("10.0.0.3:40001")
	ms := uint64(time.Millisecond)
	ev := func(k Kind, from, to netip.AddrPort, at uint64) *Event {
		return &Event{Kind: k, From: from, To: to, NetNS: 7, Boot: at}
	}
	for _, tc := range []struct {
		name    string
		events  []*Event
		expire  uint64
		foreign int
	}{
		{"stack announces after the wire (tcp_send_active_reset)",
			[]*Event{ev(Wire, a, b, 1000*ms), ev(Sent, a, b, 1000*ms+10)}, 2000 * ms, 0},
		{"stack announced before the wire",
			[]*Event{ev(Sent, a, b, 1000*ms), ev(Wire, a, b, 1001*ms)}, 2000 * ms, 0},
		{"nobody announced: foreign",
			[]*Event{ev(Wire, a, b, 1000*ms), ev(Sent, a, c, 1000*ms)}, 2000 * ms, 1},
		{"held until the window passes",
			[]*Event{ev(Wire, a, b, 1000*ms)}, 1100 * ms, 0},
		{"an old announcement does not excuse a new RST",
			[]*Event{ev(Sent, a, b, 1000*ms), ev(Wire, a, b, 5000*ms)}, 6000 * ms, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cr Correlator
			for _, e := range tc.events {
				if got := cr.Add(e); got != (e.Kind != Wire) {
					t.Errorf("Add(%v): got %v, want %v", e.Kind, got, e.Kind != Wire)
				}
			}
			n := 0
			cr.Expire(tc.expire, func(e *Event) {
				if e.Kind != Wire {
					t.Errorf("released a %v event", e.Kind)
				}
				n++
			})
			if n != tc.foreign {
				t.Errorf("got %d foreign RSTs, want %d", n, tc.foreign)
			}
		})
	}
}
