package diagnose_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// The per-host model from bytes: each row is a few connections between a
// client and a server whose network stacks are written down here from
// what each operating system puts on the wire (TTL, IP ID, DF, SYN
// options), then one reset whose bytes are written by hand. The expected
// sender comes from who built those bytes, not from this package.

// wire is one packet's IPv4 and TCP header fields.
type wire struct {
	src, dst     [4]byte
	sport, dport uint16
	ttl          uint8
	id           uint16
	df           bool
	seq, ack     uint32
	flags        byte
	win          uint16
	opts         []byte // TCP option bytes, a multiple of 4
	payload      int
}

// frame writes Ethernet II, IPv4 and TCP headers byte by byte.
func (w wire) frame() []byte {
	tcpLen := 20 + len(w.opts)
	b := make([]byte, 14+20+tcpLen+w.payload)
	copy(b[0:6], []byte{0x02, 0, 0, 0, 0, w.dst[3]})
	copy(b[6:12], []byte{0x02, 0, 0, 0, 0, 0xfe}) // one router MAC for everything: no duplicate-IP
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen+w.payload))
	binary.BigEndian.PutUint16(ip[4:], w.id)
	if w.df {
		ip[6] = 0x40
	}
	ip[8], ip[9] = w.ttl, 6
	copy(ip[12:16], w.src[:])
	copy(ip[16:20], w.dst[:])
	t := ip[20:]
	binary.BigEndian.PutUint16(t[0:], w.sport)
	binary.BigEndian.PutUint16(t[2:], w.dport)
	binary.BigEndian.PutUint32(t[4:], w.seq)
	binary.BigEndian.PutUint32(t[8:], w.ack)
	t[12], t[13] = byte(tcpLen/4)<<4, w.flags
	binary.BigEndian.PutUint16(t[14:], w.win)
	copy(t[20:], w.opts)
	for i := range w.payload {
		t[tcpLen+i] = byte(w.seq) + byte(i)
	}
	return b
}

const (
	tFIN = 0x01
	tSYN = 0x02
	tRST = 0x04
	tPSH = 0x08
	tACK = 0x10
)

// SYN options as each stack sends them (p0f's signatures).
var (
	// Linux: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
	linuxSYN = []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}
	// Windows 10: MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted.
	windowsSYN = []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2}
	// FreeBSD / OpenBSD: MSS, NOP, window scale 6, SACK permitted, timestamps.
	bsdSYN = []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 6, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0}
)

// stack is one host as the capture point sees it.
type stack struct {
	addr [4]byte
	ttl  uint8 // as its packets arrive
	syn  []byte
	// id gives the IP ID of the host's n-th packet (0-based) on connection
	// conn; synAck says the packet is its SYN-ACK.
	id func(conn, n int, synAck bool) uint16
}

// Linux: a counter per socket from a random start; the listener's SYN-ACK 0.
func linuxID(conn, n int, synAck bool) uint16 {
	if synAck {
		return 0
	}
	return uint16(0x3f00+conn*0x5a17) + uint16(n)
}

// hostCounter: one counter for all connections (Windows, older BSDs),
// advanced by traffic the capture does not see between connections.
func hostCounter() func(conn, n int, synAck bool) uint16 {
	next := uint16(0x2100)
	return func(conn, n int, synAck bool) uint16 {
		if n == 0 {
			next += 37 // the host talked to others meanwhile
		}
		next++
		return next
	}
}

// randomID: OpenBSD draws every ID at random.
func randomID(conn, n int, synAck bool) uint16 {
	x := uint32(conn*977+n*131+7) * 2654435761
	return uint16(x>>16) | 1
}

// resetSpec is the reset's bytes beyond its addresses and numbers.
type resetSpec struct {
	fromServer bool
	ttl        uint8
	id         uint16 // used unless idNext
	idNext     int    // >0: the sender's own next ID plus idNext-1
	df         bool
	win        uint16
	opts       []byte
}

// converse plays conns connections between cli and srv, ten seconds apart
// (each ends before the next: its close delay is 5 s), then one more up to
// the server's response, then the reset; it returns the reset's finding.
func converse(t *testing.T, cli, srv stack, conns int, rst resetSpec) report.Finding {
	t.Helper()
	var got []report.Finding
	opts := diagnose.DefaultOptions
	opts.OnFinding = func(f report.Finding) { got = append(got, f) }
	a := diagnose.New("hand.pcap", opts)
	var frame uint64
	t0 := time.Unix(1_700_000_000, 0)
	feed := func(w wire, at time.Time) {
		frame++
		b := w.frame()
		a.Packet(b, capture.Info{Time: at, Frame: frame, CaptureLen: len(b), WireLen: len(b), Link: packet.LinkType(1)})
	}
	var rstFrame uint64
	for c := 0; c <= conns; c++ {
		at := t0.Add(time.Duration(c) * 10 * time.Second)
		cport := uint16(40000 + c)
		cseq, sseq := uint32(1000+c*100000), uint32(7000+c*300000)
		cn, sn := 0, 0
		ms := func(n int) time.Time { return at.Add(time.Duration(n) * time.Millisecond) }
		c2s := func(flags byte, seq, ack uint32, opts []byte, n int, when time.Time) {
			feed(wire{src: cli.addr, dst: srv.addr, sport: cport, dport: 80, ttl: cli.ttl, id: cli.id(c, cn, false), df: true,
				seq: seq, ack: ack, flags: flags, win: 502, opts: opts, payload: n}, when)
			cn++
		}
		s2c := func(flags byte, seq, ack uint32, opts []byte, n int, when time.Time) {
			feed(wire{src: srv.addr, dst: cli.addr, sport: 80, dport: cport, ttl: srv.ttl, id: srv.id(c, sn, flags&tSYN != 0), df: true,
				seq: seq, ack: ack, flags: flags, win: 509, opts: opts, payload: n}, when)
			sn++
		}
		c2s(tSYN, cseq, 0, cli.syn, 0, ms(0))
		s2c(tSYN|tACK, sseq, cseq+1, srv.syn, 0, ms(1))
		c2s(tACK, cseq+1, sseq+1, nil, 0, ms(2))
		c2s(tPSH|tACK, cseq+1, sseq+1, nil, 100, ms(3))
		s2c(tACK, sseq+1, cseq+101, nil, 0, ms(4))
		s2c(tPSH|tACK, sseq+1, cseq+101, nil, 300, ms(5))
		c2s(tACK, cseq+101, sseq+301, nil, 0, ms(6))
		if c < conns {
			c2s(tFIN|tACK, cseq+101, sseq+301, nil, 0, ms(7))
			s2c(tFIN|tACK, sseq+301, cseq+102, nil, 0, ms(8))
			c2s(tACK, cseq+102, sseq+302, nil, 0, ms(9))
			continue
		}
		// The client asks again; the reset answers or pre-empts it at the
		// exact sequence its sender would use (a netfilter reject takes
		// the answered segment's ACK: nf_send_reset).
		c2s(tPSH|tACK, cseq+101, sseq+301, nil, 50, ms(20))
		w := wire{src: cli.addr, dst: srv.addr, sport: cport, dport: 80, seq: cseq + 151, ack: sseq + 301, flags: tRST | tACK}
		from, n := cli, cn
		if rst.fromServer {
			w = wire{src: srv.addr, dst: cli.addr, sport: 80, dport: cport, seq: sseq + 301, ack: cseq + 151, flags: tRST | tACK}
			from, n = srv, sn
		}
		w.ttl, w.id, w.df, w.win, w.opts = rst.ttl, rst.id, rst.df, rst.win, rst.opts
		if rst.idNext > 0 {
			w.id = from.id(c, n, false) + uint16(rst.idNext-1)
		}
		feed(w, ms(21))
		rstFrame = frame
	}
	a.Finish()
	for _, f := range got {
		if f.Frame == rstFrame {
			return f
		}
	}
	t.Fatalf("no finding for the reset at frame %d (%d findings)", rstFrame, len(got))
	return report.Finding{}
}

func TestHostModelFromBytes(t *testing.T) {
	client := [4]byte{10, 0, 0, 1}
	server := [4]byte{10, 9, 0, 2}
	linuxCli := stack{addr: client, ttl: 64, syn: linuxSYN, id: linuxID}
	tests := []struct {
		name    string
		cli     stack
		srv     func() stack
		conns   int
		rst     resetSpec
		device  bool       // the reset was built by a device in the path
		causes  []cause.ID // for a device: the acceptable causes
		mention []string   // evidence that must be quoted
	}{
		{
			// A Linux router one hop before a FreeBSD server rejects with
			// nf_send_reset: TTL 64 (the server's packets arrive with 63),
			// IP ID 0, DF, window 0, no options. FreeBSD numbers every
			// datagram from one counter, its own reset too.
			name:  "netfilter reject in front of a BSD server",
			cli:   linuxCli,
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: bsdSYN, id: hostCounter()} },
			conns: 4, rst: resetSpec{fromServer: true, ttl: 64, id: 0, df: true},
			device: true, causes: []cause.ID{cause.FirewallReject},
			mention: []string{"netfilter's reject sends 0", "made 0 hop(s) from the capture point", "packets come from 1 hop(s)"},
		},
		{
			// Windows aborts a live socket with RST+ACK, window 0, no
			// options, its IP ID from the host's counter, DF.
			name:  "Windows endpoint's window-0 RST+ACK from a live socket",
			cli:   stack{addr: client, ttl: 128, syn: windowsSYN, id: hostCounter()},
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: linuxSYN, id: linuxID} },
			conns: 4, rst: resetSpec{ttl: 128, idNext: 1, df: true},
		},
		{
			// The same one hop off (a route change), after the host sent 300
			// datagrams elsewhere: its host-wide counter still places it.
			name:  "Windows endpoint's RST+ACK one hop off, on its host-wide counter",
			cli:   stack{addr: client, ttl: 128, syn: windowsSYN, id: hostCounter()},
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: linuxSYN, id: linuxID} },
			conns: 4, rst: resetSpec{ttl: 127, idNext: 301, df: true},
			mention: []string{"continues the counter all client's connections share"},
		},
		{
			// OpenBSD resets from a live socket with window 0, no options,
			// a random IP ID and DF.
			name:  "BSD endpoint with random IP IDs",
			cli:   linuxCli,
			srv:   func() stack { return stack{addr: server, ttl: 64, syn: bsdSYN, id: randomID} },
			conns: 4, rst: resetSpec{fromServer: true, ttl: 64, id: 0x9d41, df: true},
		},
		{
			// FreeBSD: the reset on the host's counter, TTL as its packets.
			name:  "BSD endpoint with one counter",
			cli:   linuxCli,
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: bsdSYN, id: hostCounter()} },
			conns: 4, rst: resetSpec{fromServer: true, ttl: 63, idNext: 1, df: true},
		},
		{
			// Linux's socketless reset (tcp_v4_send_reset: ID 0, DF, window
			// 0, no options) from a client that never sent ID 0 before.
			name:  "Linux endpoint's socketless reset",
			cli:   linuxCli,
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: linuxSYN, id: linuxID} },
			conns: 4, rst: resetSpec{ttl: 64, id: 0, df: true},
		},
		{
			// An injector 16 hops farther than the Linux server, with an
			// IP ID of its own.
			name:  "device with a far TTL",
			cli:   linuxCli,
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: linuxSYN, id: linuxID} },
			conns: 4, rst: resetSpec{fromServer: true, ttl: 47, id: 0x04d2},
			device: true, causes: []cause.ID{cause.Injected},
			mention: []string{"made 17 hop(s) from the capture point", "packets come from 1 hop(s)"},
		},
		{
			// A device at the Windows server's own distance: its TTL gives
			// nothing away, its IP ID is not on the server's counter.
			name:  "device whose IP ID departs from a host-wide counter",
			cli:   linuxCli,
			srv:   func() stack { return stack{addr: server, ttl: 127, syn: windowsSYN, id: hostCounter()} },
			conns: 4, rst: resetSpec{fromServer: true, ttl: 127, id: 0xbeef, df: true},
			device: true, causes: []cause.ID{cause.FirewallReject, cause.Injected},
			mention: []string{"is behind server's counter"},
		},
		{
			// A busy host's counter may run far ahead between two of its
			// packets to this peer: that alone accuses nobody.
			name:  "Windows endpoint's reset far ahead on its counter",
			cli:   stack{addr: client, ttl: 128, syn: windowsSYN, id: hostCounter()},
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: linuxSYN, id: linuxID} },
			conns: 4, rst: resetSpec{ttl: 128, idNext: 20000, df: true},
		},
		{
			// The same against a Linux server's per-connection counter.
			name:  "device whose IP ID departs from a per-connection counter",
			cli:   linuxCli,
			srv:   func() stack { return stack{addr: server, ttl: 63, syn: linuxSYN, id: linuxID} },
			conns: 4, rst: resetSpec{fromServer: true, ttl: 63, id: 0xbeef, df: true},
			device: true, causes: []cause.ID{cause.FirewallReject, cause.Injected},
			mention: []string{"a counter of its own"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := converse(t, tt.cli, tt.srv(), tt.conns, tt.rst)
			ev := strings.Join(f.Evidence, "; ")
			if device := f.Sender == cause.Middlebox; device != tt.device {
				t.Fatalf("got %s by %s, want device %v; evidence: %s", f.Cause, f.Sender, tt.device, ev)
			}
			if tt.device {
				ok := false
				for _, c := range tt.causes {
					ok = ok || f.Cause == c
				}
				if !ok {
					t.Errorf("got cause %s, want one of %v; evidence: %s", f.Cause, tt.causes, ev)
				}
			}
			for _, m := range tt.mention {
				if !strings.Contains(ev, m) {
					t.Errorf("evidence lacks %q: %s", m, ev)
				}
			}
		})
	}
}
