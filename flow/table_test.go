package flow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rstscope/rstscope/packet"
)

func TestTableIdleExpiry(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		want  []EndReason
	}{
		{
			name: "idle past the timeout: the next packet starts a new connection",
			steps: []step{
				{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				{from: 'c', flags: fPA, seq: 1011, ack: 5001, n: 10, at: 6 * time.Minute},
			},
			want: []EndReason{EndIdle, EndFlush},
		},
		{
			name: "idle under the timeout: one connection",
			steps: []step{
				{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				{from: 'c', flags: fPA, seq: 1011, ack: 5001, n: 10, at: 4 * time.Minute},
			},
			want: []EndReason{EndFlush},
		},
		{
			name: "closed: the close delay ends it",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 's', flags: fRA, seq: 0, ack: 1001},
				{from: 'c', flags: fA, seq: 1001, ack: 1, at: 6 * time.Second},
			},
			want: []EndReason{EndIdle, EndFlush},
		},
		{
			// Both FINs seen, the server's never acknowledged: its
			// retransmission 6 s later and the client's reset to it belong to
			// the same connection (no one-packet connections, no role swap).
			name: "FIN/FIN with a FIN unacknowledged: later retransmissions stay",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 's', flags: fSA, seq: 5000, ack: 1001},
				{from: 'c', flags: fA, seq: 1001, ack: 5001},
				{from: 'c', flags: fFA, seq: 1001, ack: 5001},
				{from: 's', flags: fFA, seq: 5001, ack: 1002},
				{from: 's', flags: fFA, seq: 5001, ack: 1002, at: 6 * time.Second},
				{from: 'c', flags: fR, seq: 1002, at: 6 * time.Second},
			},
			want: []EndReason{EndFlush},
		},
		{
			name: "FIN/FIN, both acknowledged: the close delay ends it",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 's', flags: fSA, seq: 5000, ack: 1001},
				{from: 'c', flags: fA, seq: 1001, ack: 5001},
				{from: 'c', flags: fFA, seq: 1001, ack: 5001},
				{from: 's', flags: fFA, seq: 5001, ack: 1002},
				{from: 'c', flags: fA, seq: 1002, ack: 5002},
				{from: 's', flags: fFA, seq: 5001, ack: 1002, at: 6 * time.Second},
			},
			want: []EndReason{EndIdle, EndFlush},
		},
		{
			name: "a new SYN after the close: reuse",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 's', flags: fRA, seq: 0, ack: 1001},
				{from: 'c', flags: fS, seq: 1000, at: time.Second},
			},
			want: []EndReason{EndReused, EndFlush},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := play(t, DefaultConfig, tc.steps)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d connections %+v, want %d", len(got), got, len(tc.want))
			}
			for i, e := range got {
				if e.why != tc.want[i] {
					t.Errorf("connection %d ended by %d, want %d", i+1, e.why, tc.want[i])
				}
			}
		})
	}
}

// synFrom is a SYN from port to 10.0.0.2:80.
func synFrom(port uint16, seq uint32) packet.Packet {
	return packet.Packet{
		IPVersion: 4, IPLen: 40, TTL: 64,
		Src: client.Addr(), Dst: server.Addr(), SrcPort: port, DstPort: server.Port(),
		Seq: seq, Flags: packet.SYN, Window: 65535,
	}
}

func TestTableMaxConns(t *testing.T) {
	tab := NewTable(Config{MaxConns: 3})
	var evicted []uint16
	tab.OnEnd = func(c *Conn, why EndReason) {
		if why == EndEvicted {
			evicted = append(evicted, c.Ep[FromOrig].Addr.Port())
		}
	}
	start := time.Unix(1_700_000_000, 0)
	for i := range 5 {
		p := synFrom(uint16(40000+i), 1000)
		tab.Process(&p, start.Add(time.Duration(i)*time.Millisecond), uint64(i+1), p.IPLen)
	}
	if got := tab.Len(); got != 3 {
		t.Errorf("Len = %d, want 3 (the cap)", got)
	}
	st := tab.Stats()
	if st.Evicted != 2 || st.Conns != 5 || st.Peak != 3 {
		t.Errorf("stats = %+v, want Evicted 2, Conns 5, Peak 3", st)
	}
	// The least recently active go first.
	if len(evicted) != 2 || evicted[0] != 40000 || evicted[1] != 40001 {
		t.Errorf("evicted ports %v, want [40000 40001]", evicted)
	}
}

// TestTableMemoryBounded: many short connections one after another, as in
// a long capture: the table holds only those within the close delay, so
// memory follows concurrency, not file size.
func TestTableMemoryBounded(t *testing.T) {
	tab := NewTable(DefaultConfig)
	start := time.Unix(1_700_000_000, 0)
	const n = 20000
	maxLen := 0
	for i := range n {
		ts := start.Add(time.Duration(i) * 100 * time.Millisecond)
		port := uint16(1024 + i%60000)
		syn := synFrom(port, uint32(i))
		tab.Process(&syn, ts, uint64(2*i+1), syn.IPLen)
		rst := packet.Packet{
			IPVersion: 4, IPLen: 40, TTL: 64,
			Src: server.Addr(), Dst: client.Addr(), SrcPort: server.Port(), DstPort: port,
			Ack: uint32(i) + 1, Flags: packet.RST | packet.ACK,
		}
		tab.Process(&rst, ts, uint64(2*i+2), rst.IPLen)
		maxLen = max(maxLen, tab.Len())
	}
	// 5 s close delay at 10 connections a second: about 50 live, never n.
	if maxLen > 60 {
		t.Errorf("table grew to %d connections over %d short ones, want it bounded by the close delay (~50)", maxLen, n)
	}
	if st := tab.Stats(); st.Conns != n || st.Expired < n-60 {
		t.Errorf("stats = %+v, want Conns %d and nearly all expired", st, n)
	}
}

// established builds a table with conns established connections and
// returns data packets, one per connection, to feed it.
func established(conns int) (*Table, []packet.Packet) {
	tab := NewTable(DefaultConfig)
	start := time.Unix(1_700_000_000, 0)
	pkts := make([]packet.Packet, conns)
	for i := range conns {
		cli := netip.AddrPortFrom(client.Addr(), uint16(10000+i))
		mk := func(src, dst netip.AddrPort, f packet.Flags, seq, ack uint32, n int) packet.Packet {
			return packet.Packet{IPVersion: 4, IPLen: 40 + n, TTL: 64, Src: src.Addr(), Dst: dst.Addr(),
				SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: f, Window: 65535,
				PayloadLen: n, Payload: payload[:n]}
		}
		for j, p := range []packet.Packet{
			mk(cli, server, fS, 1000, 0, 0),
			mk(server, cli, fSA, 5000, 1001, 0),
			mk(cli, server, fA, 1001, 5001, 0),
		} {
			tab.Process(&p, start, uint64(3*i+j+1), p.IPLen)
		}
		pkts[i] = mk(cli, server, fPA, 1001, 5001, 100)
	}
	return tab, pkts
}

func TestTableProcessAllocs(t *testing.T) {
	tab, pkts := established(64)
	ts := time.Unix(1_700_000_010, 0)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		p := &pkts[i%len(pkts)]
		p.Seq += 100 // new data each time
		tab.Process(p, ts, uint64(i), p.IPLen)
		i++
	})
	if allocs != 0 {
		t.Errorf("Process on existing connections: %.1f allocs per packet, want 0", allocs)
	}
}

func BenchmarkTableProcess(b *testing.B) {
	tab, pkts := established(1024)
	ts := time.Unix(1_700_000_010, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := &pkts[i%len(pkts)]
		p.Seq += 100
		tab.Process(p, ts, uint64(i), p.IPLen)
	}
}
