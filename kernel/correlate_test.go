package kernel

import (
	"fmt"
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
	other := func(e *Event) *Event { e.NetNS = 8; return e }
	lo := func(e *Event) *Event {
		e.From = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.From.Port())
		e.To = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), e.To.Port())
		return e
	}
	for _, tc := range []struct {
		name   string
		events []*Event
		expire uint64
		want   []string // "kind from>to" per reset, in order; "+recv" when joined
	}{
		{"stack announces after the wire (tcp_send_active_reset)",
			[]*Event{ev(Wire, a, b, 1000*ms), ev(Sent, a, b, 1000*ms+10)}, 2000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000"}},
		{"stack announced before the wire",
			[]*Event{ev(Sent, a, b, 1000*ms), ev(Wire, a, b, 1001*ms)}, 2000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000"}},
		{"nobody announced: foreign",
			[]*Event{ev(Wire, a, b, 1000*ms), ev(Sent, a, c, 1000*ms)}, 2000 * ms,
			[]string{"wire 10.0.0.1:80>10.0.0.2:40000", "sent 10.0.0.1:80>10.0.0.3:40001"}},
		{"held until the window passes",
			[]*Event{ev(Wire, a, b, 1000*ms)}, 1100 * ms, nil},
		{"an old announcement does not excuse a new RST",
			[]*Event{ev(Sent, a, b, 1000*ms), ev(Wire, a, b, 5000*ms)}, 6000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000", "wire 10.0.0.1:80>10.0.0.2:40000"}},
		{"one RST leaving a bridge and its port is one RST",
			[]*Event{ev(Wire, a, b, 1000*ms), ev(Wire, a, b, 1000*ms+3)}, 2000 * ms,
			[]string{"wire 10.0.0.1:80>10.0.0.2:40000"}},
		{"sent in one namespace, received in another: one reset",
			[]*Event{ev(Sent, a, b, 1000*ms), other(ev(Received, a, b, 1000*ms+50))}, 2000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000+recv"}},
		{"received before the late announcement: still one",
			[]*Event{ev(Received, a, b, 1000*ms), ev(Sent, a, b, 1000*ms+50)}, 2000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000+recv"}},
		{"a socket's own tcp_reset before its abort on data is no reset",
			[]*Event{ev(Received, b, a, 1000*ms), ev(Sent, a, b, 1000*ms+20)}, 2000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000"}},
		{"a router's reject received by a client in another namespace: one reset",
			[]*Event{ev(Wire, a, b, 1000*ms), other(ev(Received, a, b, 1000*ms+50))}, 2000 * ms,
			[]string{"wire 10.0.0.1:80>10.0.0.2:40000+recv"}},
		{"loopback in two namespaces: each reset joins its own",
			[]*Event{lo(ev(Sent, a, b, 1000*ms)), other(lo(ev(Sent, a, b, 1000*ms+1))), lo(ev(Received, a, b, 1000*ms+2)), other(lo(ev(Received, a, b, 1000*ms+3)))}, 2000 * ms,
			[]string{"sent 127.0.0.1:80>127.0.0.1:40000+recv@7", "sent 127.0.0.1:80>127.0.0.1:40000+recv@8"}},
		{"a later reset on the same tuple read before expiry is not joined",
			[]*Event{ev(Sent, a, b, 1000*ms), other(ev(Received, a, b, 1900*ms))}, 3000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000", "received 10.0.0.1:80>10.0.0.2:40000"}},
		{"a reset received from elsewhere stands alone",
			[]*Event{ev(Received, c, a, 1000*ms)}, 2000 * ms,
			[]string{"received 10.0.0.3:40001>10.0.0.1:80"}},
		{"out of order across CPUs comes out in time order",
			[]*Event{ev(Sent, a, c, 1000*ms+5), ev(Sent, a, b, 1000*ms)}, 2000 * ms,
			[]string{"sent 10.0.0.1:80>10.0.0.2:40000", "sent 10.0.0.1:80>10.0.0.3:40001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cr Correlator
			for _, e := range tc.events {
				cr.Add(e)
			}
			var got []string
			cr.Expire(tc.expire, func(r *Reset) {
				s := fmt.Sprintf("%v %v>%v", r.Kind, r.From, r.To)
				if r.Recv.Kind != 0 {
					s += "+recv"
					if r.Recv.From.Addr().IsLoopback() {
						s += fmt.Sprintf("@%d", r.Recv.NetNS)
					}
				}
				got = append(got, s)
			})
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if len(tc.want) == len(got) && cr.Pending() != 0 && tc.expire >= 2000*ms {
				t.Errorf("got %d still pending, want 0", cr.Pending())
			}
		})
	}
}

// TestCorrelatorFlood checks the cost per event stays flat: 100,000 resets
// on distinct tuples held at once, then released.
func TestCorrelatorFlood(t *testing.T) {
	var cr Correlator
	base := netip.MustParseAddr("10.0.0.1")
	n := 100000
	for i := range n {
		cr.Add(&Event{Kind: Sent, From: netip.AddrPortFrom(base, 80), To: netip.AddrPortFrom(base, uint16(i)), Boot: uint64(i)})
	}
	if cr.Pending() != n {
		t.Fatalf("got %d pending, want %d", cr.Pending(), n)
	}
	got := 0
	cr.Expire(uint64(time.Hour), func(*Reset) { got++ })
	if got != n || cr.Pending() != 0 {
		t.Errorf("got %d released, %d pending; want %d, 0", got, cr.Pending(), n)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		cr.Add(&Event{Kind: Sent, From: netip.AddrPortFrom(base, 80), To: netip.AddrPortFrom(base, 1), Boot: uint64(2 * time.Hour)})
		cr.Expire(uint64(3*time.Hour), func(*Reset) {})
	})
	if allocs > 0 {
		t.Errorf("got %v allocations per held and released event, want 0", allocs)
	}
}

// BenchmarkCorrelator is watch's correlator under a SYN flood: one Sent
// event per reset on a new tuple, released a window later.
func BenchmarkCorrelator(b *testing.B) {
	var cr Correlator
	base := netip.MustParseAddr("127.0.0.1")
	src := netip.MustParseAddr("127.0.0.2")
	b.ReportAllocs()
	for i := range b.N {
		at := uint64(i) * 10000 // 100 k resets/s
		cr.Add(&Event{Kind: Sent, From: netip.AddrPortFrom(base, 9), To: netip.AddrPortFrom(src, uint16(1024+i%64000)), NetNS: 7, Boot: at})
		if i%1000 == 0 {
			cr.Expire(at, func(*Reset) {})
		}
	}
}
