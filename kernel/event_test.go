package kernel

import (
	"net/netip"
	"testing"
	"time"
)

// record builds a ring buffer record the way the eBPF side writes one.
func record(kind Kind, family uint16, src, dst []byte, sport, dport uint16) []byte {
	b := make([]byte, EventSize)
	b[offTs] = 1
	copy(b[offTuple:], src)
	copy(b[offTuple+16:], dst)
	b[offTuple+32] = 0x34 // netns 0x1234
	b[offTuple+33] = 0x12
	b[offTuple+36], b[offTuple+37] = byte(sport), byte(sport>>8)
	b[offTuple+38], b[offTuple+39] = byte(dport), byte(dport>>8)
	b[offTuple+40] = byte(family)
	b[offReason] = 11
	b[offKind] = byte(kind)
	b[offState] = 1
	b[offContext] = byte(ContextProcess)
	copy(b[offComm:], "curl")
	return b
}

func TestDecode(t *testing.T) {
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	for _, c := range []struct {
		name       string
		rec        []byte
		from, to   string
		reason     uint32
		wantErrors bool
	}{
		{name: "sent v4", rec: record(Sent, afInet, []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, 80, 40000),
			from: "10.0.0.1:80", to: "10.0.0.2:40000", reason: 11},
		{name: "received v4 swaps ends", rec: record(Received, afInet, []byte{10, 0, 0, 2}, []byte{10, 0, 0, 1}, 40000, 80),
			from: "10.0.0.1:80", to: "10.0.0.2:40000", reason: ReasonUnknown},
		{name: "sent v6", rec: record(Sent, afInet6, v6a.AsSlice(), v6b.AsSlice(), 443, 50000),
			from: "[2001:db8::1]:443", to: "[2001:db8::2]:50000", reason: 11},
		{name: "short", rec: make([]byte, EventSize-1), wantErrors: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e Event
			err := Decode(c.rec, &e)
			if c.wantErrors {
				if err == nil {
					t.Fatal("got nil error, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.From.String() != c.from || e.To.String() != c.to {
				t.Errorf("got %s -> %s, want %s -> %s", e.From, e.To, c.from, c.to)
			}
			if e.Reason != c.reason {
				t.Errorf("got reason %d, want %d", e.Reason, c.reason)
			}
			if e.NetNS != 0x1234 || e.CommString() != "curl" || e.Context != ContextProcess {
				t.Errorf("got netns %#x comm %q context %v", e.NetNS, e.CommString(), e.Context)
			}
		})
	}
}

// TestDecodeClosedClean: closed_ms is 1 + whole milliseconds since the clean
// close, 0 for none (rstscope.h), so a close in the same millisecond still
// counts and 0 means nothing was remembered.
func TestDecodeClosedClean(t *testing.T) {
	for _, c := range []struct {
		raw   uint16
		clean bool
		ago   time.Duration
	}{
		{0, false, 0},
		{1, true, 0},
		{2, true, time.Millisecond},
		{60001, true, 60 * time.Second},
	} {
		rec := record(Sent, afInet, []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, 80, 40000)
		rec[offClosedMs], rec[offClosedMs+1] = byte(c.raw), byte(c.raw>>8)
		var e Event
		if err := Decode(rec, &e); err != nil {
			t.Fatal(err)
		}
		if e.ClosedClean != c.clean || e.ClosedAgo != c.ago {
			t.Errorf("closed_ms %d: got clean %v ago %v, want %v %v", c.raw, e.ClosedClean, e.ClosedAgo, c.clean, c.ago)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	rec := record(Sent, afInet6, make([]byte, 16), make([]byte, 16), 1, 2)
	var e Event
	if n := testing.AllocsPerRun(100, func() { Decode(rec, &e) }); n != 0 {
		t.Errorf("got %v allocations per Decode, want 0", n)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(record(Sent, afInet, []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, 1, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		Decode(b, &e)
	})
}

func BenchmarkDecode(b *testing.B) {
	rec := record(Sent, afInet6, make([]byte, 16), make([]byte, 16), 1, 2)
	var e Event
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(rec, &e); err != nil {
			b.Fatal(err)
		}
	}
}
