package flow

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/rstscope/rstscope/packet"
)

// Sizes measured when compact attempts came in (bench/synflood, issue
// "a SYN flood must not take a laptop down"): a Conn was 1416 bytes, an
// Endpoint 456, an attempt 128. A full table of 500 k Conns is 700 MB
// before the map and the collector's headroom; the test fails if either
// grows, so that growth is a decision, not an accident. The Conn took 8
// bytes more for its tick (records and Conns in one order); the attempt
// was packed to 112 bytes; a reply is 64, so a SYN answered by SYN
// cookies was 176 bytes and a full table of them 88 MB. The Conn took 16
// bytes more for its reset notes' confidence (a repeat reset is as sure as
// the verdict it repeats). With an IPv4 key's addresses in 4 bytes each
// (other keys' in an addrPair) an attempt is 88 bytes, and the same table
// 76 MB. The Conn took 8 bytes more for its key's hash (Key.h), which
// spares the tracker hashing the key on every lookup, and 32 for its reset
// notes' handle on a verdict made on the writer's goroutine
// (ResetNote.Pending): Conns are what a connection becomes after its
// first SYN (a flood's records are not Conns), 13 k at most on the bench
// capture, so 0.4 MB.
const (
	maxConnBytes    = 1480
	maxAttemptBytes = 88
	maxReplyBytes   = 64
)

func TestSizes(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > maxConnBytes {
		t.Errorf("Conn is %d bytes, more than the %d measured; update maxConnBytes only with a reason", n, maxConnBytes)
	}
	if n := unsafe.Sizeof(attempt{}); n > maxAttemptBytes {
		t.Errorf("attempt is %d bytes, more than the %d measured", n, maxAttemptBytes)
	}
	if n := unsafe.Sizeof(reply{}); n > maxReplyBytes {
		t.Errorf("reply is %d bytes, more than the %d measured", n, maxReplyBytes)
	}
}

// endSummary is what OnEnd saw of a connection, independent of how the table
// held it.
type endSummary struct {
	id   uint64
	desc string
}

func summary(c *Conn) endSummary {
	o, r := &c.Ep[FromOrig], &c.Ep[FromResp]
	return endSummary{c.ID, fmt.Sprintf("%s %v pkts %d/%d bytes %d/%d ttl %d/%d first %d last %d frame %d/%d syn %d synack %d est %d",
		c, c.SYNSeen, o.Packets, r.Packets, o.IPBytes, r.IPBytes, o.FirstTTL, r.FirstTTL,
		c.Start().UnixNano(), c.Last().UnixNano(), o.LastFrame, r.LastFrame,
		c.SYNTime.UnixNano(), c.SYNACKTime.UnixNano(), c.EstablishedTime.UnixNano())}
}

// TestOfferMatchesProcess: a table that keeps SYNs compact (Offer, as the
// analyzer feeds it) ends the same connections, with the same state, as
// one that builds a Conn for every packet (Process). The traffic mixes
// unanswered SYNs, SYNs retransmitted with the same and a new ISN, closed
// ports, completed handshakes, answers later than the attempt timeout,
// IPv4 and IPv6.
func TestOfferMatchesProcess(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	srv4 := netip.MustParseAddrPort("10.0.0.2:80")
	srv6 := netip.MustParseAddrPort("[fd00::2]:443")
	type pkt struct {
		p  packet.Packet
		ts time.Time
	}
	var pkts []pkt
	start := time.Unix(1_700_000_000, 0)
	for i := range 3000 {
		srv := srv4
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(8))}), uint16(1024+rng.IntN(64)))
		ver := uint8(4)
		if i%5 == 0 {
			srv, ver = srv6, 6
			cli = netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("fd00::%x", 0x100+rng.IntN(8))), uint16(1024+rng.IntN(64)))
		}
		ts := start.Add(time.Duration(i) * 20 * time.Millisecond)
		mk := func(from, to netip.AddrPort, f packet.Flags, seq, ack uint32, at time.Duration) pkt {
			return pkt{packet.Packet{IPVersion: ver, IPLen: 60, TTL: uint8(50 + rng.IntN(3)), IPID: uint16(rng.Uint32()),
				DF: true, HasMAC: true, SrcMAC: [6]byte{2, 0, 0, 0, 0, byte(i)}, VLAN: 7,
				Src: from.Addr(), Dst: to.Addr(), SrcPort: from.Port(), DstPort: to.Port(),
				Seq: seq, Ack: ack, Flags: f, Window: 1000, Opt: packet.Options{MSS: 1460, HasMSS: true, Len: 4}}, ts.Add(at)}
		}
		isn := rng.Uint32()
		pkts = append(pkts, mk(cli, srv, fS, isn, 0, 0))
		switch rng.IntN(7) {
		case 0: // unanswered
		case 1: // closed port
			pkts = append(pkts, mk(srv, cli, fRA, 0, isn+1, time.Millisecond))
		case 2: // handshake and data
			pkts = append(pkts, mk(srv, cli, fSA, 9, isn+1, time.Millisecond), mk(cli, srv, fA, isn+1, 10, 2*time.Millisecond))
		case 3: // retransmitted SYN
			pkts = append(pkts, mk(cli, srv, fS, isn, 0, time.Second))
		case 4: // a new ISN
			pkts = append(pkts, mk(cli, srv, fS, isn+99, 0, 500*time.Millisecond))
		case 5: // answered after the attempt timeout
			pkts = append(pkts, mk(srv, cli, fSA, 9, isn+1, 6*time.Second))
		case 6: // a reset from the client
			pkts = append(pkts, mk(cli, srv, fR, isn+1, 0, 3*time.Second))
		}
	}
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].ts.Before(pkts[j].ts) })

	run := func(offer bool, cfg Config) []endSummary {
		tab := NewTable(cfg)
		var got []endSummary
		tab.OnEnd = func(c *Conn, _ EndReason) { got = append(got, summary(c)) }
		for i := range pkts {
			p := &pkts[i]
			if offer && tab.Offer(&p.p, p.ts, uint64(i+1), p.p.IPLen) {
				continue
			}
			tab.Process(&p.p, p.ts, uint64(i+1), p.p.IPLen)
		}
		tab.Flush()
		sort.Slice(got, func(i, j int) bool { return got[i].id < got[j].id })
		return got
	}
	full, compact := run(false, DefaultConfig), run(true, DefaultConfig)
	if len(full) != len(compact) {
		t.Fatalf("%d connections with Process, %d with Offer", len(full), len(compact))
	}
	for i := range full {
		if full[i] != compact[i] {
			t.Errorf("connection %d:\nProcess %s\nOffer   %s", full[i].id, full[i].desc, compact[i].desc)
		}
	}
}

// TestAttemptTimeout: an unanswered SYN ends tcp_attempt_delay after it;
// a SYN-ACK after that starts a new connection, one within it does not.
func TestAttemptTimeout(t *testing.T) {
	for _, late := range []time.Duration{4 * time.Second, 6 * time.Second} {
		tab := NewTable(DefaultConfig)
		var whys []EndReason
		tab.OnEnd = func(c *Conn, why EndReason) { whys = append(whys, why) }
		start := time.Unix(1_700_000_000, 0)
		syn := synFrom(40000, 1000)
		if !tab.Offer(&syn, start, 1, syn.IPLen) {
			t.Fatal("a plain SYN on a new 4-tuple was not taken as an attempt")
		}
		sa := packet.Packet{IPVersion: 4, IPLen: 40, TTL: 64, Src: server.Addr(), Dst: client.Addr(),
			SrcPort: server.Port(), DstPort: 40000, Seq: 7, Ack: 1001, Flags: fSA, Window: 1000}
		c, _ := tab.Process(&sa, start.Add(late), 2, sa.IPLen)
		tab.Flush()
		if late < DefaultConfig.AttemptTimeout {
			if len(whys) != 1 || c.History.String() != "Sh" {
				t.Errorf("SYN-ACK %v later: ends %v history %q, want one connection Sh", late, whys, c.History.String())
			}
		} else if len(whys) != 2 || whys[0] != EndIdle {
			t.Errorf("SYN-ACK %v later: ends %v, want the attempt expired, then a new connection", late, whys)
		}
	}
}

// TestEvictionOrder: past the cap, closed connections go first, then
// unanswered attempts, and only then connections that carry traffic.
func TestEvictionOrder(t *testing.T) {
	tab := NewTable(Config{MaxConns: 3})
	var evicted []uint16
	tab.OnEnd = func(c *Conn, why EndReason) {
		if why == EndEvicted {
			evicted = append(evicted, c.Ep[FromOrig].Addr.Port())
		}
	}
	start := time.Unix(1_700_000_000, 0)
	// 40000: established; 40001: closed; 40002..: attempts.
	for i, p := range []packet.Packet{
		synFrom(40000, 1000),
		{IPVersion: 4, IPLen: 40, TTL: 64, Src: server.Addr(), Dst: client.Addr(), SrcPort: server.Port(), DstPort: 40000, Seq: 7, Ack: 1001, Flags: fSA},
		synFrom(40001, 1000),
		{IPVersion: 4, IPLen: 40, TTL: 64, Src: server.Addr(), Dst: client.Addr(), SrcPort: server.Port(), DstPort: 40001, Ack: 1001, Flags: fRA},
		synFrom(40002, 1000),
		synFrom(40003, 1000),
		synFrom(40004, 1000),
	} {
		ts := start.Add(time.Duration(i) * time.Millisecond)
		if !tab.Offer(&p, ts, uint64(i+1), p.IPLen) {
			tab.Process(&p, ts, uint64(i+1), p.IPLen)
		}
	}
	if want := []uint16{40001, 40002}; fmt.Sprint(evicted) != fmt.Sprint(want) {
		t.Errorf("evicted %v, want %v", evicted, want)
	}
}

// TestAttemptIndex: the open-addressing index against a Go map, through
// inserts and deletes that wrap around and shift chains, with keys whose
// hashes collide.
func TestAttemptIndex(t *testing.T) {
	tab := NewTable(DefaultConfig)
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[Key]uint32{}
	keys := map[uint32]Key{} // want's inverse
	var live []uint32
	for step := range 200_000 {
		if len(live) > 0 && (rng.IntN(3) == 0 || len(live) > 5000) {
			j := rng.IntN(len(live))
			i := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			k := keys[i]
			if got := tab.keyOf(tab.attempt(i)); got.lo != k.lo || got.hi != k.hi || got.loP != k.loP || got.hiP != k.hiP {
				t.Fatalf("step %d: attempt %d holds %v, want %v", step, i, got, k)
			}
			delete(want, k)
			tab.dropAttempt(i, k.h)
		} else {
			var k Key
			k.lo[15], k.lo[14], k.loP = byte(rng.IntN(256)), byte(rng.IntN(64)), uint16(rng.IntN(4))
			if rng.IntN(2) == 0 { // an IPv4 key (kept in the attempt) or not (in an addrPair)
				k.lo[10], k.lo[11], k.hi[10], k.hi[11] = 0xff, 0xff, 0xff, 0xff
			}
			k.h = hashOf(&k.lo, &k.hi, k.loP, k.hiP)
			if k.lo[15]&1 == 0 {
				// Few hashes for 5 000 keys (the same for the same key):
				// slots whose hashes agree while their keys differ, and
				// long chains.
				k.h &= 0xfff
			}
			if _, ok := want[k]; ok || tab.findAttempt(k) != 0 {
				if !ok {
					t.Fatalf("step %d: index finds %v, which it does not hold", step, k)
				}
				continue
			}
			i := tab.allocAttempt()
			*tab.attempt(i) = attempt{}
			tab.setKey(tab.attempt(i), k)
			tab.indexAttempt(i, k.h)
			tab.pushAttempt(i)
			want[k], keys[i] = i, k
			live = append(live, i)
		}
		if step%1000 == 0 {
			for k, i := range want {
				if got := tab.findAttempt(k); got != i {
					t.Fatalf("step %d: find %v = %d, want %d", step, k, got, i)
				}
			}
		}
	}
	if tab.attemptIdx.n != len(want) {
		t.Errorf("index holds %d, want %d", tab.attemptIdx.n, len(want))
	}
}

// TestPrefetchNamesTheEvictee: Prefetch returns the originator of the
// connection the next admission evicts, once the table is full, and the
// zero Addr before; IPv6 keys (in an addrPair) included, and either side
// of the key sending the SYN.
func TestPrefetchNamesTheEvictee(t *testing.T) {
	tab := NewTable(Config{MaxConns: 2})
	var evicted netip.Addr
	tab.OnEnd = func(c *Conn, why EndReason) {
		if why == EndEvicted {
			evicted = c.Ep[FromOrig].Addr.Addr()
		}
	}
	start := time.Unix(1_700_000_000, 0)
	srv4, srv6 := netip.MustParseAddrPort("10.9.9.9:443"), netip.MustParseAddrPort("[2001:db8::9]:443")
	for i, src := range []string{"10.0.0.1:4000", "10.200.0.2:4000", "[2001:db8::1]:4000", "[2001:db8::ffff:1]:4000", "10.0.0.5:4000", "10.0.0.6:4000"} {
		s := netip.MustParseAddrPort(src)
		dst, v := srv4, uint8(4)
		if s.Addr().Is6() {
			dst, v = srv6, 6
		}
		p := packet.Packet{IPVersion: v, IPLen: 40, TTL: 64, Src: s.Addr(), Dst: dst.Addr(), SrcPort: s.Port(), DstPort: dst.Port(), Seq: 1000, Flags: packet.SYN}
		k, _ := MakeKey(p.SrcAddrPort(), p.DstAddrPort())
		want := tab.Prefetch(&k)
		evicted = netip.Addr{}
		if !tab.Offer(&p, start.Add(time.Duration(i)*time.Millisecond), uint64(i+1), p.IPLen) {
			t.Fatalf("SYN %d not taken as an attempt", i)
		}
		if want != evicted {
			t.Errorf("SYN %d from %v: Prefetch named %v, the table evicted %v", i, s, want, evicted)
		}
	}
}
