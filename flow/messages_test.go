package flow

import (
	"strings"
	"testing"
	"time"
)

// TestCountMessages: flights written by hand as the software sends them,
// split into segments where a capture could split them.
func TestCountMessages(t *testing.T) {
	get := "GET /small HTTP/1.1\r\nHost: realtruth\r\n\r\n"
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	tests := []struct {
		name    string
		segs    []string
		framing Framing
		msgs    uint8
		whole   bool
	}{
		{"one GET", []string{get}, FramingHTTPRequest, 1, true},
		{"three GETs pipelined", []string{get + get + get}, FramingHTTPRequest, 3, true},
		{"three GETs over two segments", []string{get + get[:20], get[20:] + get}, FramingHTTPRequest, 3, true},
		{"a head's end split \\r\\n|\\r\\n", []string{get + get[:len(get)-2], "\r\n" + get}, FramingHTTPRequest, 3, true},
		{"a head's end split over three segments", []string{get[:len(get)-3], "\n\r", "\n"}, FramingHTTPRequest, 1, true},
		{"a WebDAV request", []string{"PROPFIND /d HTTP/1.1\r\nHost: h\r\nDepth: 1\r\n\r\n"}, FramingHTTPRequest, 1, true},
		{"a POST and its body", []string{"POST /u HTTP/1.1\r\nContent-Length: 6\r\n\r\n", "abc\r\n\r"}, FramingHTTPRequest, 1, true},
		{"responses", []string{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n"}, FramingHTTPResponse, 2, true},
		{"a status line split HTTP|/1.1", []string{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP", "/1.1 200 OK\r\n\r\n"}, FramingHTTPResponse, 2, true},
		{"redis SET pipelined", []string{set + set + set + "*1\r\n$4\r\nQUIT\r\n"}, FramingRESP, 4, true},
		{"redis SET, a value that begins with *", []string{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n*1\r\n"}, FramingRESP, 2, true}, // counted as two: the cost of not parsing bulk strings
		{"redis commands split at a line's start", []string{set + "*", "3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"}, FramingRESP, 2, true},
		{"redis, a segment that begins mid-line", []string{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nx", "*1\r\n"}, FramingRESP, 1, true},
		{"a line protocol, pipelined", []string{"1200\n1200\n1200\n"}, FramingLines, 3, true},
		{"memcached gets", []string{"get a\r\nget b\r\n"}, FramingLines, 2, true},
		{"a memcached set", []string{"set k 0 0 5\r\nhello\r\n"}, FramingLines, 1, true},
		{"a memcached set and a get", []string{"set k 0 0 5\r\nhello\r\nget k\r\n"}, FramingLines, 2, true},
		{"a memcached set split in its data", []string{"set k 0 0 5\r\nhel", "lo\r\nget k\r\n"}, FramingLines, 2, true},
		{"a memcached set split in its line", []string{"set k 0", " 0 5\r\n", "hello\r\n"}, FramingLines, 1, true},
		{"UTF-8 in a line", []string{"café\n", "naïve\n"}, FramingLines, 2, true},
		{"a command line and a binary body", []string{"U 4096\n\x00\x00\n\x00", "\n\n\n"}, FramingLines, 1, true},
		{"TLS", []string{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"}, FramingNone, 0, false},
		{"HTTP/2 preface", []string{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"}, FramingNone, 0, false},
		{"PostgreSQL startup", []string{"\x00\x00\x00\x08\x04\xd2\x16\x2f"}, FramingNone, 0, false},
		{"binary that is not text", []string{"\x01\n\n"}, FramingNone, 0, false},
		{"a GET cut by the snap length", []string{"snap:" + get + get}, FramingHTTPRequest, 0, false},
		{"a cut segment whose kept bytes end like a head's end", []string{"snap:GET /x HTTP/1.1\r\nHost: abcd\r\n\rX-Long: header", "\n"}, FramingHTTPRequest, 0, false},
		{"a cut line, then a line's end", []string{"snap:get aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaa\r\n"}, FramingLines, 0, false},
		{"a flight longer than the scan", []string{strings.Repeat("x\n", maxFlightScan/2), "x\n"}, FramingLines, 255, false},
	}
	for _, tt := range tests {
		var e Endpoint
		for i, s := range tt.segs {
			b, size := []byte(s), len(s)
			if rest, ok := strings.CutPrefix(s, "snap:"); ok {
				b, size = []byte(rest[:30]), len(rest) // a capture kept 30 bytes
			}
			e.countMessages(b, size, i == 0, false)
		}
		if e.Framing != tt.framing || e.FlightMsgs != tt.msgs || e.FlightWhole != tt.whole {
			t.Errorf("%s: %v, %d messages, whole %t; want %v, %d, %t", tt.name, e.Framing, e.FlightMsgs, e.FlightWhole, tt.framing, tt.msgs, tt.whole)
		}
	}
}

// TestCountMessagesHole: bytes that follow a hole in the stream leave the
// flight's count a lower bound.
func TestCountMessagesHole(t *testing.T) {
	var e Endpoint
	e.countMessages([]byte("1\n2\n"), 4, true, false)
	e.countMessages([]byte("4\n"), 2, false, true) // "3\n" not seen yet
	if e.FlightMsgs != 3 || e.FlightWhole {
		t.Errorf("%d messages, whole %t; want 3, not whole", e.FlightMsgs, e.FlightWhole)
	}
}

// TestFlightMessages: through the table, a flight ends when the peer sends
// data, and a retransmission is not counted again.
func TestFlightMessages(t *testing.T) {
	req := "100\n100\n100\n"
	steps := []step{
		{from: 'c', flags: fS, seq: 1000},
		{from: 's', flags: fSA, seq: 5000, ack: 1001},
		{from: 'c', flags: fA, seq: 1001, ack: 5001},
		{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: len(req)},
		{from: 'c', flags: fPA, seq: 1001, ack: 5001, n: len(req), at: 200 * time.Millisecond}, // retransmitted
		{from: 's', flags: fPA, seq: 5001, ack: 1001 + uint32(len(req)), n: 100, at: 201 * time.Millisecond},
	}
	data := map[int]string{3: req, 4: req}
	tab := NewTable(Config{})
	start := time.Unix(1_700_000_000, 0)
	var got [][2]uint8 // client's framing and count after each step
	for i, s := range steps {
		p := s.packet()
		if d, ok := data[i]; ok {
			p.Payload = []byte(d)
		}
		tab.Process(&p, start.Add(s.at), uint64(i+1), p.IPLen)
		c, _ := tab.Lookup(&p, start.Add(s.at))
		e := &c.Ep[FromOrig]
		got = append(got, [2]uint8{uint8(e.Framing), e.FlightMsgs})
	}
	want := [2]uint8{uint8(FramingLines), 3}
	if len(got) != len(steps) || got[4] != want || got[5] != want {
		t.Fatalf("client's flight after each step: %v; want %v after the retransmission and after the answer", got, want)
	}
	// The client's next request starts a new flight.
	p := step{from: 'c', flags: fPA, seq: 1001 + uint32(len(req)), ack: 5101, n: 4, at: 300 * time.Millisecond}.packet()
	p.Payload = []byte("100\n")
	tab.Process(&p, start.Add(300*time.Millisecond), 7, p.IPLen)
	if c, _ := tab.Lookup(&p, start.Add(300*time.Millisecond)); c.Ep[FromOrig].FlightMsgs != 1 {
		t.Fatalf("the next flight: %d messages, want 1", c.Ep[FromOrig].FlightMsgs)
	}
}

// TestFlightMessagesResent: a retransmission that carries new bytes too
// (Linux collapses queued segments into one when it resends) counts only
// the new ones; bytes captured ahead of a hole leave the flight not whole.
func TestFlightMessagesResent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		segs  [][2]any // sequence offset after the handshake, payload
		msgs  uint8
		whole bool
	}{
		{"resent with new bytes", [][2]any{{0, "100\n"}, {0, "100\n100\n"}}, 2, true},
		{"out of order", [][2]any{{4, "100\n"}, {0, "100\n"}}, 1, false},
	} {
		tab := NewTable(Config{})
		start := time.Unix(1_700_000_000, 0)
		steps := []step{
			{from: 'c', flags: fS, seq: 1000},
			{from: 's', flags: fSA, seq: 5000, ack: 1001},
			{from: 'c', flags: fA, seq: 1001, ack: 5001},
		}
		for i, sg := range tc.segs {
			data := sg[1].(string)
			steps = append(steps, step{from: 'c', flags: fPA, seq: 1001 + uint32(sg[0].(int)), ack: 5001, n: len(data), at: time.Duration(i+1) * time.Millisecond})
		}
		var c *Conn
		for i, s := range steps {
			p := s.packet()
			if i >= 3 {
				p.Payload = []byte(tc.segs[i-3][1].(string))
			}
			tab.Process(&p, start.Add(s.at), uint64(i+1), p.IPLen)
			c, _ = tab.Lookup(&p, start.Add(s.at))
		}
		if e := &c.Ep[FromOrig]; e.FlightMsgs != tc.msgs || e.FlightWhole != tc.whole {
			t.Errorf("%s: %d messages, whole %t; want %d, %t", tc.name, e.FlightMsgs, e.FlightWhole, tc.msgs, tc.whole)
		}
	}
}

// FuzzCountMessages: any flight, split anywhere and cut by any snap
// length, is counted without a panic, the count never falls within a
// flight, and the scan stays within its bound.
func FuzzCountMessages(f *testing.F) {
	for _, s := range []string{"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", "*1\r\n$4\r\nPING\r\n*1\r\n", "HTTP/1.1 200 OK\r\n\r\nHTTP/1.", "1\n2\n\x00", ""} {
		f.Add([]byte(s), uint8(7), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, split, snap uint8) {
		var e Endpoint
		for i, start := 0, true; i < len(b) || start; start = false {
			j := min(len(b), i+1+int(split))
			seg := b[i:j]
			kept := seg[:min(len(seg), 1+int(snap))]
			before := e.FlightMsgs
			e.countMessages(kept, len(seg), start, false)
			if !start && e.FlightMsgs < before {
				t.Fatalf("count fell from %d to %d", before, e.FlightMsgs)
			}
			if e.flightScanned > stoppedAtBody {
				t.Fatalf("scanned %d", e.flightScanned)
			}
			i = j
			if len(b) == 0 {
				break
			}
		}
	})
}

// TestErrorReplyResent: a server's old error reply retransmitted after its
// next reply, a success, leaves the latest reply's status standing.
func TestErrorReplyResent(t *testing.T) {
	replies := []string{"HTTP/1.1 500 Internal Server Error\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"}
	steps := []step{
		{from: 'c', flags: fS, seq: 1000},
		{from: 's', flags: fSA, seq: 5000, ack: 1001},
		{from: 'c', flags: fA, seq: 1001, ack: 5001},
		{from: 's', flags: fPA, seq: 5001, ack: 1001, n: len(replies[0]), at: time.Millisecond},
		{from: 's', flags: fPA, seq: 5001 + uint32(len(replies[0])), ack: 1001, n: len(replies[1]), at: 2 * time.Millisecond},
		{from: 's', flags: fPA, seq: 5001, ack: 1001, n: len(replies[0]), at: 200 * time.Millisecond}, // the 500 again
	}
	data := map[int]string{3: replies[0], 4: replies[1], 5: replies[0]}
	tab := NewTable(Config{})
	start := time.Unix(1_700_000_000, 0)
	var c *Conn
	for i, s := range steps {
		p := s.packet()
		if d, ok := data[i]; ok {
			p.Payload = []byte(d)
		}
		tab.Process(&p, start.Add(s.at), uint64(i+1), p.IPLen)
		c, _ = tab.Lookup(&p, start.Add(s.at))
	}
	if c.Ep[FromResp].ErrorReply {
		t.Error("the retransmitted 500 turned the latest reply, a 200, into an error")
	}
}
