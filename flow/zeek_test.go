package flow

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/packet"
)

var (
	client = netip.MustParseAddrPort("10.0.0.1:40000")
	server = netip.MustParseAddrPort("10.0.0.2:80")
)

const (
	fS  = packet.SYN
	fSA = packet.SYN | packet.ACK
	fA  = packet.ACK
	fPA = packet.PSH | packet.ACK
	fFA = packet.FIN | packet.ACK
	fF  = packet.FIN
	fR  = packet.RST
	fRA = packet.RST | packet.ACK
)

// step is one segment of a scripted exchange: from the client ('c') or
// the server ('s'), at a time offset from the start.
type step struct {
	from     byte
	flags    packet.Flags
	seq, ack uint32
	n        int // payload length
	at       time.Duration
	win      uint16 // 0 means 65535; use zeroWin for a zero window
}

const zeroWin = 1 << 15 // marker in step.win for an advertised window of 0

var payload [2048]byte

// seg builds the packet of a step: client ISN 1000, server ISN 5000 in
// the scripts below.
func (s step) packet() packet.Packet {
	src, dst := client, server
	if s.from == 's' {
		src, dst = server, client
	}
	win := s.win
	switch win {
	case 0:
		win = 65535
	case zeroWin:
		win = 0
	}
	return packet.Packet{
		IPVersion: 4, IPLen: 40 + s.n, TTL: 64,
		Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port(),
		Seq: s.seq, Ack: s.ack, Flags: s.flags, Window: win,
		PayloadLen: s.n, Payload: payload[:s.n],
	}
}

// ended is what a connection showed as it left the table.
type ended struct {
	history, state string
	orig, resp     uint64
	why            EndReason
}

// play runs steps through a table and returns every connection in the
// order it ended, the rest flushed at the end.
func play(t *testing.T, cfg Config, steps []step) []ended {
	t.Helper()
	tab := NewTable(cfg)
	var out []ended
	tab.OnEnd = func(c *Conn, why EndReason) {
		o, r := c.Bytes()
		out = append(out, ended{c.History.String(), c.ConnState(), o, r, why})
	}
	start := time.Unix(1_700_000_000, 0)
	for i, s := range steps {
		p := s.packet()
		tab.Process(&p, start.Add(s.at), uint64(i+1), p.IPLen)
	}
	tab.Flush()
	return out
}

func TestHistoryAndConnState(t *testing.T) {
	handshake := []step{
		{from: 'c', flags: fS, seq: 1000},
		{from: 's', flags: fSA, seq: 5000, ack: 1001},
		{from: 'c', flags: fA, seq: 1001, ack: 5001},
	}
	with := func(tail ...step) []step { return append(append([]step(nil), handshake...), tail...) }
	for _, tc := range []struct {
		name       string
		steps      []step
		want       []string // "history state" per connection, in the order they end
		orig, resp uint64   // byte counts of the first connection
	}{
		{
			name: "handshake, data both ways, FIN close",
			steps: with(
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				step{from: 's', flags: fA, seq: 5001, ack: 1011},
				step{from: 's', flags: fPA, seq: 5001, ack: 1011, n: 20},
				step{from: 'c', flags: fA, seq: 1011, ack: 5021},
				step{from: 'c', flags: fFA, seq: 1011, ack: 5021},
				step{from: 's', flags: fFA, seq: 5021, ack: 1012},
				step{from: 'c', flags: fA, seq: 1012, ack: 5022},
			),
			want: []string{"ShADadFf SF"}, orig: 10, resp: 20,
		},
		{
			name: "REJ: SYN answered by RST-ACK",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 's', flags: fRA, seq: 0, ack: 1001},
			},
			want: []string{"Sr REJ"},
		},
		{
			name: "RSTO: the originator aborts",
			steps: with(
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				step{from: 's', flags: fA, seq: 5001, ack: 1011},
				step{from: 'c', flags: fRA, seq: 1011, ack: 5001},
			),
			want: []string{"ShADaR RSTO"}, orig: 10,
		},
		{
			name: "RSTR: the responder aborts",
			steps: with(
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				step{from: 's', flags: fR, seq: 5001},
			),
			want: []string{"ShADr RSTR"}, orig: 10,
		},
		{
			name: "S0: unanswered SYN, retransmitted",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 'c', flags: fS, seq: 1000, at: time.Second},
			},
			want: []string{"S S0"},
		},
		{
			name: "SH: SYN then FIN, no answer",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 'c', flags: fF, seq: 1001},
			},
			want: []string{"SF SH"},
		},
		{
			name: "RSTOS0: SYN then RST from the originator (Zeek's syn-then-rst)",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 'c', flags: fR, seq: 1001},
			},
			want: []string{"SR RSTOS0"},
		},
		{
			name: "OTH: a lone RST (Zeek's single-rst)",
			steps: []step{
				{from: 'c', flags: fR, seq: 1001},
			},
			want: []string{"R OTH"},
		},
		{
			name: "S1: established, still open",
			steps: with(
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 5},
			),
			want: []string{"ShAD S1"}, orig: 5,
		},
		{
			name: "partial: mid-stream data from the client",
			steps: []step{
				{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				{from: 's', flags: fA, seq: 5001, ack: 1011},
			},
			want: []string{"Da OTH"}, orig: 10,
		},
		{
			name: "partial from the server port: roles flip (likely_server_ports)",
			steps: []step{
				{from: 's', flags: fPA, seq: 5001, ack: 1001, n: 20},
				{from: 'c', flags: fA, seq: 1001, ack: 5021},
			},
			want: []string{"^dA OTH"}, resp: 20,
		},
		{
			name: "SYN-ACK first: roles flip, '^'",
			steps: []step{
				{from: 's', flags: fSA, seq: 5000, ack: 1001},
				{from: 'c', flags: fA, seq: 1001, ack: 5001},
			},
			want: []string{"^hA S1"},
		},
		{
			name: "retransmitted data: 'T'",
			steps: with(
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10, at: time.Second},
				step{from: 's', flags: fA, seq: 5001, ack: 1011},
			),
			want: []string{"ShADTa S1"}, orig: 10,
		},
		{
			name: "zero window from the responder: 'w'",
			steps: with(
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				step{from: 's', flags: fA, seq: 5001, ack: 1011, win: zeroWin},
			),
			want: []string{"ShADaw S1"}, orig: 10,
		},
		{
			name: "acked data the capture never saw: content gap 'G'",
			steps: with(
				step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
				step{from: 's', flags: fA, seq: 5001, ack: 1031}, // 20 bytes missed
			),
			want: []string{"ShADaG S1"}, orig: 30,
		},
		{
			name: "FIN then RST from the responder is a normal close",
			steps: with(
				step{from: 'c', flags: fFA, seq: 1001, ack: 5001},
				step{from: 's', flags: fFA, seq: 5001, ack: 1002},
				step{from: 's', flags: fRA, seq: 5002, ack: 1002},
			),
			want: []string{"ShAFfr SF"},
		},
		{
			name: "SYN reuse after a close starts a new connection",
			steps: with(
				step{from: 'c', flags: fFA, seq: 1001, ack: 5001},
				step{from: 's', flags: fFA, seq: 5001, ack: 1002},
				step{from: 'c', flags: fA, seq: 1002, ack: 5002},
				step{from: 'c', flags: fS, seq: 90000, at: time.Second},
				step{from: 's', flags: fRA, seq: 0, ack: 90001, at: time.Second},
			),
			want: []string{"ShAFf SF", "Sr REJ"},
		},
		{
			name: "SYN with a new ISN while unanswered starts a new attempt (Zeek's SYN_seq_jump)",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 'c', flags: fS, seq: 7000, at: time.Second},
				{from: 's', flags: fSA, seq: 5000, ack: 7001, at: time.Second},
			},
			want: []string{"S S0", "Sh S1"},
		},
		{
			name: "REJ retried: every SYN after the reset is a new connection (pop3 baseline)",
			steps: []step{
				{from: 'c', flags: fS, seq: 1000},
				{from: 's', flags: fRA, seq: 0, ack: 1001},
				{from: 'c', flags: fS, seq: 1000, at: 500 * time.Millisecond},
				{from: 's', flags: fRA, seq: 0, ack: 1001, at: 500 * time.Millisecond},
			},
			want: []string{"Sr REJ", "Sr REJ"},
		},
		{
			name: "resets a minute apart are separate connections (llc baseline)",
			steps: []step{
				{from: 'c', flags: fR, seq: 1001},
				{from: 'c', flags: fR, seq: 1001, at: time.Minute},
				{from: 'c', flags: fR, seq: 1001, at: 2 * time.Minute},
			},
			want: []string{"R OTH", "R OTH", "R OTH"},
		},
		{
			name: "a repeated reset within the close delay stays with its connection",
			steps: []step{
				{from: 'c', flags: fR, seq: 1001},
				{from: 'c', flags: fR, seq: 1001, at: time.Second},
				{from: 'c', flags: fR, seq: 1501, at: 2 * time.Second},
			},
			want: []string{"RR OTH"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := play(t, DefaultConfig, tc.steps)
			var gs []string
			for _, e := range got {
				gs = append(gs, e.history+" "+e.state)
			}
			if strings.Join(gs, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("got %q, want %q", gs, tc.want)
			}
			if len(got) > 0 && (got[0].orig != tc.orig || got[0].resp != tc.resp) {
				t.Errorf("bytes: got orig %d resp %d, want %d %d", got[0].orig, got[0].resp, tc.orig, tc.resp)
			}
		})
	}
}

func TestHistoryScaledLetters(t *testing.T) {
	steps := []step{
		{from: 'c', flags: fS, seq: 1000},
		{from: 's', flags: fSA, seq: 5000, ack: 1001},
		{from: 'c', flags: fA, seq: 1001, ack: 5001},
		{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10},
	}
	// 100 retransmissions: 'T' at the 1st, 10th and 100th (ScaledHistoryEntry).
	for i := 0; i < 100; i++ {
		steps = append(steps, step{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: 10, at: time.Duration(i) * time.Millisecond})
	}
	got := play(t, DefaultConfig, steps)
	if len(got) != 1 || got[0].history != "ShADTTT" {
		t.Errorf("got %+v, want one connection with history ShADTTT", got)
	}
}
