package flow

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/rstscope/rstscope/packet"
)

// endRecord is what OnEnd saw, in the order it saw it.
type endRecord struct {
	summary endSummary
	why     EndReason
	full    string // every field of the Conn, for a stricter comparison
}

// TestAnswerMatchesProcess: a table that keeps attempts and their replies
// compact (Offer and Answer, as the analyzer feeds it) ends the same
// connections, in the same order, for the same reasons and with the same
// state as one that builds a Conn for every packet but a lone SYN (Offer
// and Process; TestOfferMatchesProcess compares that with Process). The traffic
// mixes what floods are made of (closed ports, SYN cookies, a spoofed
// source's reset to a SYN-ACK) with what must leave the compact form
// (data after the handshake, a second reset, a retransmitted SYN-ACK, a
// new SYN after the reset), timestamps that step back, and a cap and an
// idle timeout small enough to evict and expire records between Conns.
func TestAnswerMatchesProcess(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	srv4 := netip.MustParseAddrPort("10.0.0.2:80")
	srv6 := netip.MustParseAddrPort("[fd00::2]:443")
	var pkts []timedPacket
	start := time.Unix(1_700_000_000, 0)
	for i := range 6000 {
		srv := srv4
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(16))}), uint16(1024+rng.IntN(64)))
		ver := uint8(4)
		if i%5 == 0 {
			srv, ver = srv6, 6
			cli = netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("fd00::%x", 0x100+rng.IntN(16))), uint16(1024+rng.IntN(64)))
		}
		ts := start.Add(time.Duration(i) * 20 * time.Millisecond)
		mk := func(from, to netip.AddrPort, f packet.Flags, seq, ack uint32, at time.Duration) timedPacket {
			p := packet.Packet{IPVersion: ver, IPLen: 40 + rng.IntN(30), TTL: uint8(50 + rng.IntN(3)), IPID: uint16(rng.Uint32()),
				DF: rng.IntN(2) == 0, HasMAC: rng.IntN(8) != 0, SrcMAC: [6]byte{2, 0, 0, 0, byte(rng.IntN(2)), byte(i)}, VLAN: 7,
				Src: from.Addr(), Dst: to.Addr(), SrcPort: from.Port(), DstPort: to.Port(),
				Seq: seq, Ack: ack, Flags: f, Window: uint16(rng.IntN(3) * 1000)}
			if f.Has(packet.SYN) {
				p.Opt = packet.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: rng.IntN(2) == 0, SACKPerm: true, HasTS: rng.IntN(2) == 0, TSVal: rng.Uint32(), Len: 20}
			}
			// A capture's clock steps back now and then.
			return timedPacket{p, ts.Add(at - time.Duration(rng.IntN(3))*time.Millisecond)}
		}
		isn, cookie := rng.Uint32(), rng.Uint32()
		syn := mk(cli, srv, fS, isn, 0, 0)
		ra := mk(srv, cli, fRA, 0, isn+1, time.Millisecond)
		sa := mk(srv, cli, fSA, cookie, isn+1, time.Millisecond)
		cr := mk(cli, srv, fR, isn+1, 0, 2*time.Millisecond)
		pkts = append(pkts, syn)
		switch rng.IntN(12) {
		case 0: // unanswered
		case 1: // closed port
			pkts = append(pkts, ra)
		case 2: // SYN cookies, nothing more
			pkts = append(pkts, sa)
		case 3: // SYN cookies, the spoofed source resets
			pkts = append(pkts, sa, cr)
		case 4: // handshake and data
			pkts = append(pkts, sa, mk(cli, srv, fA, isn+1, cookie+1, 2*time.Millisecond))
		case 5: // a closed port answering twice
			pkts = append(pkts, ra, mk(srv, cli, fRA, 0, isn+1, 3*time.Millisecond))
		case 6: // the SYN again after the closed port's answer
			pkts = append(pkts, ra, mk(cli, srv, fS, isn, 0, time.Second))
		case 7: // a retransmitted SYN-ACK
			pkts = append(pkts, sa, mk(srv, cli, fSA, cookie, isn+1, time.Second))
		case 8: // a reset long after the SYN-ACK, past the attempt timeout
			pkts = append(pkts, sa, mk(cli, srv, fR, isn+1, 0, 7*time.Second))
		case 9: // a reset with payload (a device explaining itself)
			r := mk(srv, cli, fRA, 0, isn+1, time.Millisecond)
			r.p.PayloadLen, r.p.Payload = 4, []byte("deny")
			pkts = append(pkts, r)
		case 10: // the client resets its own SYN, then the server answers
			pkts = append(pkts, cr, mk(srv, cli, fSA, cookie, isn+1, 4*time.Millisecond))
		case 11: // a SYN-ACK answered by the SYN's sender's reset, then data from the server
			pkts = append(pkts, sa, cr, mk(srv, cli, fA, cookie+1, isn+1, 5*time.Millisecond))
		}
	}
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].ts.Before(pkts[j].ts) })

	for _, cfg := range []Config{
		DefaultConfig,
		{MaxConns: 40, IdleTimeout: 3 * time.Second},
		{MaxConns: 300, IdleTimeout: 30 * time.Second, CloseDelay: time.Second},
	} {
		full, compact := endsOf(pkts, false, cfg), endsOf(pkts, true, cfg)
		if len(full) != len(compact) {
			t.Fatalf("%+v: %d connections with Offer and Process, %d with Offer and Answer", cfg, len(full), len(compact))
		}
		bad := 0
		for i := range full {
			if full[i] != compact[i] {
				bad++
				if bad <= 3 {
					t.Errorf("%+v: end %d:\nProcess %d %v %s\ncompact %d %v %s", cfg, i, full[i].summary.id, full[i].why, full[i].summary.desc,
						compact[i].summary.id, compact[i].why, compact[i].summary.desc)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%+v: %d of %d ends differ", cfg, bad, len(full))
		}
	}
}

type timedPacket struct {
	p  packet.Packet
	ts time.Time
}

// endsOf feeds pkts to a table as the analyzer does (Offer, then Answer
// when answer is set, then Process) and returns what OnEnd saw.
func endsOf(pkts []timedPacket, answer bool, cfg Config) []endRecord {
	tab := NewTable(cfg)
	var got []endRecord
	tab.OnEnd = func(c *Conn, why EndReason) {
		cc := *c
		cc.prev, cc.next, cc.list, cc.tick = nil, nil, nil, 0 // the table's, not the connection's
		got = append(got, endRecord{summary(c), why, fmt.Sprintf("%+v", cc)})
	}
	for i := range pkts {
		p := &pkts[i]
		if tab.Offer(&p.p, p.ts, uint64(i+1), p.p.IPLen) {
			continue
		}
		if answer {
			if _, _, ok := tab.Answer(&p.p, p.ts, uint64(i+1), p.p.IPLen, false); ok {
				continue
			}
		}
		tab.Process(&p.p, p.ts, uint64(i+1), p.p.IPLen)
	}
	tab.Flush()
	return got
}

// TestTouchOrdersPastRecords: a Conn already last on its list that gets a
// packet after a record was answered is younger than that record, so the
// cap evicts the record first, as one list would.
func TestTouchOrdersPastRecords(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	sa := func(port uint16) packet.Packet {
		return packet.Packet{IPVersion: 4, IPLen: 44, TTL: 64, Src: server.Addr(), Dst: client.Addr(),
			SrcPort: server.Port(), DstPort: port, Seq: 7, Ack: 1001, Flags: fSA}
	}
	ack := synFrom(40000, 1001)
	ack.Flags, ack.Ack = fA, 8
	var pkts []timedPacket
	for i, p := range []packet.Packet{
		synFrom(40000, 1000), sa(40000), ack, // an established Conn
		synFrom(40001, 1000), sa(40001), // a record, answered after it
		ack,                  // the Conn again, already last on its list
		synFrom(40002, 1000), // past the cap: the record goes, not the Conn
		synFrom(40003, 1000),
	} {
		pkts = append(pkts, timedPacket{p, start.Add(time.Duration(i) * time.Millisecond)})
	}
	cfg := Config{MaxConns: 2}
	full, compact := endsOf(pkts, false, cfg), endsOf(pkts, true, cfg)
	if fmt.Sprint(full) != fmt.Sprint(compact) {
		t.Errorf("ends (id, why) differ:\nOffer and Process %v\nOffer and Answer  %v", idsOf(full), idsOf(compact))
	}
	if len(full) == 0 || full[0].summary.id != 2 || full[0].why != EndEvicted {
		t.Errorf("first end %+v, want connection 2 (the record) evicted", full)
	}
}

func idsOf(rs []endRecord) [][2]uint64 {
	var ids [][2]uint64
	for _, r := range rs {
		ids = append(ids, [2]uint64{r.summary.id, uint64(r.why)})
	}
	return ids
}

// TestAnswerKeepsFloodsCompact: the packets of a closed port's answer and
// of SYN cookies (with and without the spoofed source's reset) leave no
// Conn behind; the brief a reset hands over is the connection before it.
func TestAnswerKeepsFloodsCompact(t *testing.T) {
	tab := NewTable(DefaultConfig)
	start := time.Unix(1_700_000_000, 0)
	frame := uint64(0)
	feed := func(p packet.Packet, at time.Duration) (Ref, bool) {
		frame++
		if tab.Offer(&p, start.Add(at), frame, p.IPLen) {
			return Ref{}, true
		}
		ref, _, ok := tab.Answer(&p, start.Add(at), frame, p.IPLen, true)
		return ref, ok
	}
	sa := func(port uint16) packet.Packet {
		return packet.Packet{IPVersion: 4, IPLen: 44, TTL: 64, Src: server.Addr(), Dst: client.Addr(),
			SrcPort: server.Port(), DstPort: port, Seq: 7, Ack: 1001, Flags: fSA}
	}
	ra := packet.Packet{IPVersion: 4, IPLen: 40, TTL: 64, Src: server.Addr(), Dst: client.Addr(), SrcPort: server.Port(), DstPort: 40000, Ack: 1001, Flags: fRA}
	cr := packet.Packet{IPVersion: 4, IPLen: 40, TTL: 60, Src: client.Addr(), Dst: server.Addr(), SrcPort: 40002, DstPort: server.Port(), Seq: 1001, Flags: fR}
	steps := []struct {
		name string
		p    packet.Packet
		rst  bool
	}{
		{"SYN 40000", synFrom(40000, 1000), false},
		{"RST+ACK to 40000", ra, true},
		{"SYN 40001", synFrom(40001, 1000), false},
		{"SYN-ACK to 40001", sa(40001), false},
		{"SYN 40002", synFrom(40002, 1000), false},
		{"SYN-ACK to 40002", sa(40002), false},
		{"RST from 40002", cr, true},
	}
	for i, s := range steps {
		ref, ok := feed(s.p, time.Duration(i)*time.Millisecond)
		if !ok {
			t.Fatalf("%s: not taken compactly", s.name)
		}
		if s.rst {
			var c Conn
			var rst packet.Packet
			if !tab.Before(ref, &c, &rst) || c.Resets != 0 || !c.SYNSeen || ref.id == 0 {
				t.Errorf("%s: before %s resets %d, ref %+v: want the connection before the reset", s.name, c.History.String(), c.Resets, ref)
			}
			if !reflect.DeepEqual(rst, s.p) {
				t.Errorf("%s: Before's reset\n%+v\nwant\n%+v", s.name, rst, s.p)
			}
			tab.Explained(ref, ResetNote{Frame: frame, Cause: "closed-port", Sender: "server"})
		}
	}
	if tab.conns.n != 0 || tab.Len() != 3 {
		t.Errorf("%d Conns, %d tracked: want none, 3 records", tab.conns.n, tab.Len())
	}
	// A packet after the reset builds the Conn, with the noted verdict.
	late := synFrom(40000, 1000)
	late.Flags = fA
	c, _ := tab.Lookup(&late, start.Add(10*time.Millisecond))
	if n := c.LastReset[FromResp]; n.Frame != 2 || n.Cause != "closed-port" || c.Pending != 0 || c.History.String() != "Sr" {
		t.Errorf("built Conn: history %q note %+v pending %d, want Sr, closed-port at frame 2, none pending", c.History.String(), n, c.Pending)
	}
}

// TestBeforeRebuildsTheReset: the reset Before gives back is the one Answer
// took, field for field (reflect, so a field added to packet.Packet that
// the table does not keep fails here), but for those the caller keeps.
func TestBeforeRebuildsTheReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	start := time.Unix(1_700_000_000, 0)
	for i := range 200 {
		tab := NewTable(DefaultConfig)
		syn := synFrom(uint16(40000+i), rng.Uint32())
		syn.VLAN, syn.Tunnels = uint16(rng.IntN(3)), uint8(rng.IntN(2))
		if i%2 == 0 {
			syn.IPVersion = 6
			syn.Src, syn.Dst = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
		}
		if !tab.Offer(&syn, start, 1, syn.IPLen) {
			t.Fatal("SYN not taken")
		}
		rst := packet.Packet{IPVersion: syn.IPVersion, IPLen: 40 + rng.IntN(40), TTL: uint8(rng.Uint32()), IPID: uint16(rng.Uint32()),
			DF: rng.IntN(2) == 0, HasMAC: rng.IntN(2) == 0, SrcMAC: [6]byte{1, 2, 3, 4, 5, byte(i)}, VLAN: syn.VLAN, Tunnels: syn.Tunnels,
			Src: syn.Dst, Dst: syn.Src, SrcPort: syn.DstPort, DstPort: syn.SrcPort,
			Seq: rng.Uint32(), Ack: syn.Seq + 1, Flags: fRA, Window: uint16(rng.Uint32()),
			Opt: packet.Options{MSS: uint16(rng.Uint32()), HasMSS: rng.IntN(2) == 0, WScale: uint8(rng.IntN(15)), HasWScale: rng.IntN(2) == 0,
				SACKPerm: rng.IntN(2) == 0, HasSACK: rng.IntN(2) == 0, HasTS: rng.IntN(2) == 0, TSVal: rng.Uint32(), TSEcr: rng.Uint32(), Len: uint8(rng.IntN(40))}}
		if i%3 == 0 {
			rst.Src, rst.Dst, rst.SrcPort, rst.DstPort = syn.Src, syn.Dst, syn.SrcPort, syn.DstPort // from the SYN's sender
			rst.Flags = fR
		}
		ref, _, ok := tab.Answer(&rst, start.Add(time.Millisecond), 2, rst.IPLen, true)
		if !ok {
			t.Fatalf("%d: reset not taken", i)
		}
		// It stays what Before needs after its connection left the table,
		// until Explained.
		tab.Flush()
		var c Conn
		var got packet.Packet
		if !tab.Before(ref, &c, &got) || !reflect.DeepEqual(got, rst) {
			t.Fatalf("%d: Before's reset\n%+v\nwant\n%+v", i, got, rst)
		}
		tab.Explained(ref, ResetNote{})
		if tab.Before(ref, &c, &got) {
			t.Errorf("%d: Before still finds the reset after Explained", i)
		}
	}
}

// TestFloodAllocs: a flood's packets (a SYN, then a closed port's RST+ACK
// or a SYN-ACK and the spoofed source's reset), taken compactly, ended by
// the cap and explained, allocate nothing once the slabs have grown.
func TestFloodAllocs(t *testing.T) {
	tab := NewTable(Config{MaxConns: 256})
	ended := 0
	tab.OnEnd = func(*Conn, EndReason) { ended++ } // each end builds the Conn
	start := time.Unix(1_700_000_000, 0)
	srv := netip.MustParseAddrPort("10.0.0.2:80")
	frame := uint64(0)
	var c Conn
	var rst packet.Packet
	step := func(i int) {
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}), uint16(1024+i%60000))
		ts := start.Add(time.Duration(i) * time.Microsecond)
		mk := func(from, to netip.AddrPort, f packet.Flags, seq, ack uint32) packet.Packet {
			return packet.Packet{IPVersion: 4, IPLen: 40, TTL: 60, Src: from.Addr(), Dst: to.Addr(),
				SrcPort: from.Port(), DstPort: to.Port(), Seq: seq, Ack: ack, Flags: f}
		}
		pkts := [3]packet.Packet{mk(cli, srv, fS, 7, 0), mk(srv, cli, fRA, 0, 8), {}}
		if i%2 == 0 {
			pkts[1], pkts[2] = mk(srv, cli, fSA, 99, 8), mk(cli, srv, fR, 8, 0)
		}
		for k := range pkts {
			p := &pkts[k]
			if p.Flags == 0 {
				continue
			}
			frame++
			if tab.Offer(p, ts, frame, p.IPLen) {
				continue
			}
			ref, _, ok := tab.Answer(p, ts, frame, p.IPLen, true)
			if !ok {
				t.Fatalf("packet %d of flow %d not taken compactly", k, i)
			}
			if p.Flags.Has(packet.RST) {
				tab.Before(ref, &c, &rst)
				tab.Explained(ref, ResetNote{Frame: frame, Cause: "closed-port", Sender: "server"})
			}
		}
	}
	for i := range 4096 { // grow the slabs and the index
		step(i)
	}
	i := 4096
	allocs := testing.AllocsPerRun(1000, func() {
		step(i)
		i++
	})
	if allocs != 0 || ended == 0 {
		t.Errorf("%.1f allocs per flow, want 0 (%d ended)", allocs, ended)
	}
}
