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
	// SMTP, a line protocol of one's own), one per line end, counted up
	// to the flight's first byte that is not text.
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
// with (RFC 9110 §9).
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
	case c >= 'A' && c <= 'Z':
		for _, m := range httpMethods {
			if len(b) >= len(m) && string(b[:len(m)]) == m {
				return FramingHTTPRequest
			}
		}
	}
	if isText(b[0]) && b[0] != ' ' {
		return FramingLines
	}
	return FramingNone
}

// isText says whether c can be part of a text protocol's line.
func isText(c byte) bool { return c >= 0x20 && c < 0x7f || c == '\r' || c == '\n' || c == '\t' }

// countMessages adds the messages of a data segment new to e's stream to
// its flight's count: b is what the capture kept of its size payload bytes,
// and flightStart says the segment begins a flight.
func (e *Endpoint) countMessages(b []byte, size int, flightStart bool) {
	if flightStart {
		e.Framing, e.FlightMsgs, e.flightScanned = framingOf(b), 0, 0
		e.FlightWhole = e.Framing != FramingNone
	}
	if e.Framing == FramingNone || e.flightScanned == stoppedAtBody {
		return
	}
	if len(b) < size || e.flightScanned+uint32(len(b)) > maxFlightScan {
		e.FlightWhole = false // cut by the snap length or the scan's bound: messages may hide in the rest
	}
	if e.flightScanned >= maxFlightScan {
		return
	}
	if rest := maxFlightScan - e.flightScanned; uint32(len(b)) > rest {
		b = b[:rest]
	}
	e.flightScanned += uint32(len(b))
	var n int
	switch e.Framing {
	case FramingHTTPRequest:
		n = bytes.Count(b, []byte("\r\n\r\n"))
	case FramingHTTPResponse:
		n = bytes.Count(b, []byte("HTTP/1."))
	case FramingRESP:
		for i := bytes.IndexByte(b, '*'); i >= 0 && i+1 < len(b); {
			if (i == 0 || b[i-1] == '\n') && isDigit(b[i+1]) {
				n++
			}
			j := bytes.IndexByte(b[i+1:], '*')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	case FramingLines:
		for i, c := range b {
			if !isText(c) {
				// A binary body behind a command line ("U 4096\n", then
				// the bytes): the lines before it are all there is.
				b, e.flightScanned = b[:i], stoppedAtBody
				break
			}
		}
		n = bytes.Count(b, []byte{'\n'})
	}
	e.FlightMsgs = uint8(min(int(e.FlightMsgs)+n, 255))
}
