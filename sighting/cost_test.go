package sighting

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/packet"
)

// synthFrame writes an Ethernet + IPv4 + TCP frame (no options, payload
// of n bytes) into buf; checksums are left zero, the decoder does not
// check them.
func synthFrame(buf []byte, src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags byte, n int) []byte {
	b := buf[:14+20+20+n]
	clear(b)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+n))
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12], tcp[13] = 5<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	for i := range n {
		tcp[20+i] = byte(seq>>uint(i%4*8)) ^ byte(i)
	}
	return b
}

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// feedConns indexes n synthetic connections (handshake, a request, a
// response, a reset) into ix, one after another.
func feedConns(ix *indexer, n int, t0 time.Time) {
	buf := make([]byte, 256)
	var frame uint64
	feed := func(b []byte, ts time.Time) {
		frame++
		ix.frame(b, capture.Info{Time: ts, Frame: frame, CaptureLen: len(b), WireLen: len(b), Link: packet.LinkType(1)})
	}
	for i := range n {
		c := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		s := [4]byte{10, 255, 0, 1}
		cp := uint16(1024 + i%60000)
		ci, si := uint32(i)*2654435761, uint32(i)*40503+7
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		feed(synthFrame(buf, c, s, cp, 80, ci, 0, fSYN, 0), ts)
		feed(synthFrame(buf, s, c, 80, cp, si, ci+1, fSYN|fACK, 0), ts)
		feed(synthFrame(buf, c, s, cp, 80, ci+1, si+1, fACK, 0), ts)
		feed(synthFrame(buf, c, s, cp, 80, ci+1, si+1, fACK|fPSH, 40), ts)
		feed(synthFrame(buf, s, c, 80, cp, si+1, ci+41, fACK|fPSH, 60), ts)
		feed(synthFrame(buf, c, s, cp, 80, ci+41, si+61, fRST|fACK, 0), ts)
	}
}

// TestConnCost measures what the index keeps per connection (connection
// record, 4-tuple map entry, a reset): memory grows with connections, not
// with packets, and this is its slope.
func TestConnCost(t *testing.T) {
	const n = 200_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix := newIndexer("synthetic")
	feedConns(ix, n, time.Unix(1_700_000_000, 0))
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	if ix.x.Conns() != n || ix.x.Resets() != n {
		t.Fatalf("got %d connections and %d resets, want %d each", ix.x.Conns(), ix.x.Resets(), n)
	}
	t.Logf("index: %.0f bytes per connection (%d connections, 6 packets each, one reset)", per, n)
	// The connection record is about 180 bytes, a reset 40, the map
	// entry under 100 with its share of buckets; slices grow by doubling,
	// so up to twice that in the worst case.
	if per > 700 {
		t.Errorf("got %.0f bytes per connection, want at most 700", per)
	}
	runtime.KeepAlive(ix)
}

// TestIndexAllocs: once a connection exists, its packets allocate nothing.
func TestIndexAllocs(t *testing.T) {
	ix := newIndexer("synthetic")
	feedConns(ix, 1, time.Unix(1_700_000_000, 0))
	buf := make([]byte, 256)
	c, s := [4]byte{10, 0, 0, 0}, [4]byte{10, 255, 0, 1}
	data := synthFrame(buf, c, s, 1024, 80, 100, 200, fACK, 10)
	info := capture.Info{Time: time.Unix(1_700_000_001, 0), Frame: 99, CaptureLen: len(data), WireLen: len(data), Link: packet.LinkType(1)}
	if got := testing.AllocsPerRun(1000, func() { ix.frame(data, info) }); got != 0 {
		t.Errorf("got %v allocations per packet, want 0", got)
	}
}

// BenchmarkIndex is the first pass's cost per packet.
func BenchmarkIndex(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ix := newIndexer("synthetic")
		feedConns(ix, 10_000, time.Unix(1_700_000_000, 0))
	}
}
