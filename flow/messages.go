package flow

import "bytes"

// Framing is how a side's current flight of data divides into messages,
// judged from the flight's first bytes (Endpoint.Framing). A flight is
// the data one side sends between two of the peer's: a client's pipelined
// requests, a server's answers to them.
type Framing uint8

const (
	// FramingNone: binary, encrypted, or no protocol counted here.
	FramingNone Framing = iota
	// FramingHTTPRequest: HTTP/1.x requests, one per head (its blank
	// line ends it).
	FramingHTTPRequest
	// FramingHTTPResponse: HTTP/1.x responses, one per status line.
	FramingHTTPResponse
	// FramingRESP: redis commands, one per array ("*<n>") that begins a
	// line.
	FramingRESP
	// FramingLines: a text protocol of one-line commands (memcached,
	// SMTP, a line protocol of one's own), one per line end but the data
	// line of a memcached storage command, counted up to the flight's
	// first byte that is not text.
	FramingLines
)

// String names the framing in evidence.
func (f Framing) String() string {
	switch f {
	case FramingHTTPRequest:
		return "HTTP requests"
	case FramingHTTPResponse:
		return "HTTP responses"
	case FramingRESP:
		return "redis commands"
	case FramingLines:
		return "text lines"
	}
	return "unframed data"
}

// maxFlightScan bounds the bytes of a flight read for messages: pipelined
// requests fit in far less, and a download or upload is not read through.
const maxFlightScan = 16 << 10

// stoppedAtBody in Endpoint.flightScanned ends a line protocol's count at
// the binary body behind its command line: the flight stays whole.
const stoppedAtBody = maxFlightScan + 1

// httpMethods are the request lines a flight of HTTP/1.x requests begins
// with (RFC 9110 §9); a request line of another method is known by its
// version (httpRequestLine).
var httpMethods = []string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

// framingOf judges a flight's framing from its first segment.
func framingOf(b []byte) Framing {
	if len(b) == 0 {
		return FramingNone
	}
	switch c := b[0]; {
	case c == 'H' && bytes.HasPrefix(b, []byte("HTTP/1.")):
		return FramingHTTPResponse
	case c == '*' && len(b) > 1 && isDigit(b[1]):
		return FramingRESP
	case c == 'P' && bytes.HasPrefix(b, []byte("PRI * HTTP/2")):
		return FramingNone // HTTP/2's preface: binary frames follow
	case c >= 'A' && c <= 'Z' && httpRequestLine(b):
		return FramingHTTPRequest
	}
	if isText(b[0]) && b[0] != ' ' && b[0] < 0x80 {
		return FramingLines
	}
	return FramingNone
}

// httpRequestLine says whether b begins an HTTP/1.x request: a known
// method, or a first line that ends in the version (WebDAV's PROPFIND, an
// extension method), which would otherwise count as one line a header.
func httpRequestLine(b []byte) bool {
	for _, m := range httpMethods {
		if len(b) >= len(m) && string(b[:len(m)]) == m {
			return true
		}
	}
	line, _, ok := bytes.Cut(b, []byte("\r\n"))
	return ok && (bytes.HasSuffix(line, []byte(" HTTP/1.1")) || bytes.HasSuffix(line, []byte(" HTTP/1.0")))
}

// isText says whether c can be part of a text protocol's line (UTF-8
// included).
func isText(c byte) bool { return c >= 0x20 && c != 0x7f || c == '\r' || c == '\n' || c == '\t' }

// countMessages adds the messages of a segment's bytes new to e's stream
// to its flight's count: b is what the capture kept of its size new bytes,
// start says they begin a flight, and hole that bytes before them were
// never seen (captured out of order, or lost to the capture).
func (e *Endpoint) countMessages(b []byte, size int, start, hole bool) {
	if start {
		e.Framing, e.FlightMsgs, e.flightScanned, e.flightCarry = framingOf(b), 0, 0, 0
		e.FlightWhole = e.Framing != FramingNone && !hole
		if e.Framing == FramingRESP {
			e.flightCarry = 1 // the flight begins a line
		}
	}
	if e.Framing == FramingNone || e.flightScanned == stoppedAtBody {
		return
	}
	if hole {
		e.FlightWhole, e.flightCarry = false, 0 // what came before is unknown
	}
	cut := len(b) < size
	if cut || int(e.flightScanned)+len(b) > maxFlightScan {
		e.FlightWhole = false // cut by the snap length or the scan's bound: messages may hide in the rest
	}
	if e.flightScanned >= maxFlightScan {
		return
	}
	if rest := maxFlightScan - int(e.flightScanned); len(b) > rest {
		b = b[:rest]
	}
	e.flightScanned += uint16(len(b))
	var n int
	switch e.Framing {
	case FramingHTTPRequest:
		n, e.flightCarry = countAcross(b, "\r\n\r\n", e.flightCarry)
	case FramingHTTPResponse:
		n, e.flightCarry = countAcross(b, "HTTP/1.", e.flightCarry)
	case FramingRESP:
		n, e.flightCarry = respCommands(b, e.flightCarry == 1)
	case FramingLines:
		for i, c := range b {
			if !isText(c) {
				// A binary body behind a command line ("U 4096\n", then
				// the bytes): the lines before it are all there is.
				b, e.flightScanned = b[:i], stoppedAtBody
				break
			}
		}
		n, e.flightCarry = commandLines(b, e.flightCarry)
	}
	if cut {
		// The next segment goes on from bytes the capture did not keep:
		// no marker continues across, and a line's end there is not
		// known to end a command.
		e.flightCarry = 0
		if e.Framing == FramingLines {
			e.flightCarry = uint8(inData)
		}
	}
	e.FlightMsgs = uint8(min(int(e.FlightMsgs)+n, 255))
}

// countAcross counts pat in b, a match begun at the previous segment's end
// included: carry is how much of pat that segment ended with, and the
// result's second value is how much of it b ends with.
func countAcross(b []byte, pat string, carry uint8) (int, uint8) {
	n := 0
	if k := int(carry); k > 0 {
		switch need := pat[k:]; {
		case len(b) >= len(need) && string(b[:len(need)]) == need:
			n, b = 1, b[len(need):]
		case len(b) < len(need) && string(b) == need[:len(b)]:
			return 0, uint8(k + len(b))
		}
	}
	n += bytes.Count(b, []byte(pat))
	for k := min(len(pat)-1, len(b)); k > 0; k-- {
		if string(b[len(b)-k:]) == pat[:k] {
			return n, uint8(k)
		}
	}
	return n, 0
}

// commandLines counts the command lines of a text protocol in b: every
// line but the data line behind a memcached storage command ("set k 0 0
// 5\r\n", then "hello\r\n"). carry says where the previous segment left
// off (lineState); so does the result's second value for b.
func commandLines(b []byte, carry uint8) (int, uint8) {
	n, st := 0, lineState(carry)
	for len(b) > 0 {
		line, rest, ended := bytes.Cut(b, []byte{'\n'})
		switch st {
		case atCommand:
			st = inCommand
			if storageCommand(line) {
				st = inStorage
			}
		case atData:
			st = inData
		}
		if !ended {
			return n, uint8(st)
		}
		switch st {
		case inCommand:
			n, st = n+1, atCommand
		case inStorage:
			n, st = n+1, atData
		case inData:
			st = atCommand
		}
		b = rest
	}
	return n, uint8(st)
}

// lineState is where a text flight's count stands between segments: at a
// line's start (a command's, or the data line a storage command announced)
// or inside one of the three kinds of line.
type lineState uint8

const (
	atCommand lineState = iota
	atData
	inCommand
	inStorage
	inData
)

// storageCommands are memcached's commands followed by a data line
// (protocol.txt, "Storage commands").
var storageCommands = []string{"set ", "add ", "replace ", "append ", "prepend ", "cas "}

// storageCommand says whether line begins a memcached storage command,
// whose data line follows it.
func storageCommand(line []byte) bool {
	for _, w := range storageCommands {
		if bytes.HasPrefix(line, []byte(w)) {
			return true
		}
	}
	return false
}

// respCommands counts the RESP arrays ("*<n>") that begin a line in b;
// lineStart says b's first byte begins one. The second value is 1 when b
// ends a line.
func respCommands(b []byte, lineStart bool) (int, uint8) {
	n := 0
	for i := 0; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '*')
		if j < 0 {
			break
		}
		i += j
		if (i == 0 && lineStart || i > 0 && b[i-1] == '\n') && (i+1 == len(b) || isDigit(b[i+1])) {
			n++
		}
	}
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return n, 1
	}
	return n, 0
}
