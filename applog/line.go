// Package applog reads application logs — plain files, directories, gzip,
// journald's JSON export, container log files — and finds the lines written
// around a moment: the time each line was written (in the formats nginx,
// haproxy, redis, Envoy, syslog, Go, Python, Java and JSON loggers use) and
// the addresses it names. Logs are untrusted input: lines are cut at
// MaxText, control characters and invalid UTF-8 are escaped, and memory
// stays bounded whatever the size of the files (an index of blocks by time,
// not the lines themselves, is kept).
package applog

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Line is one log line as read.
type Line struct {
	File string
	Num  int // 1-based line number in File (for journald: the record number)
	// Time is when the line was written. A line without a time of its own
	// (a stack trace's "Caused by: java.net.SocketException: Connection
	// reset") takes the time of the last line before it that had one, and
	// Inherited says so.
	Time      time.Time
	Inherited bool
	// Text is the line made safe to print: at most MaxText bytes of it,
	// control characters, terminal escapes and invalid UTF-8 shown as \xNN.
	Text string
	// HAProxyState is haproxy's termination state ("sD", "SD--"), and
	// EnvoyFlags Envoy's response flags ("UC", "UF,URX"), when the line is
	// one of theirs.
	HAProxyState string
	EnvoyFlags   string
	// Ports and IPs are the endpoints the text names (see Addresses), and
	// Conns the connections it names as "a->b" (see Tuples): parsed once
	// when the line is read, since every reset near it looks at them.
	Ports []netip.AddrPort
	IPs   []netip.Addr
	Conns [][2]netip.AddrPort
}

// MaxText bounds the text kept of one line: enough for the longest nginx
// error line with its request and upstream (about 600 bytes in the lab),
// with room; a 10 MB line costs no more than this.
const MaxText = 2048

// parseLine fills a Line from raw bytes; prev is the time of the previous
// timed line in the same file.
func parseLine(raw []byte, cut int, o *TimeOptions, prev time.Time) Line {
	var l Line
	text := raw
	if len(raw) > 0 && raw[0] == '{' && cut == 0 {
		if t, s, ok := jsonLine(raw, o); ok || s != string(raw) {
			l.Time = t
			text = []byte(s)
			if !ok {
				l.Time, l.Inherited = prev, true
			}
			l.Text = Sanitize(text, 0)
			l.addresses()
			return l
		}
	}
	if t, ok := ParseTime(raw, o); ok {
		l.Time = t
	} else {
		l.Time, l.Inherited = prev, true
	}
	if _, st, ok := haproxyLine(raw, o); ok {
		l.HAProxyState = st
	} else if _, fl, ok := envoyLine(raw); ok && fl != "-" {
		l.EnvoyFlags = fl
	}
	l.Text = Sanitize(text, cut)
	l.addresses()
	return l
}

func (l *Line) addresses() {
	l.Ports, l.IPs = Addresses(l.Text)
	if len(l.Ports) >= 2 && (strings.Contains(l.Text, "->") || strings.Contains(l.Text, " laddr=")) {
		l.Conns = Tuples(l.Text)
	}
}

// Sanitize returns b as printable text: at most MaxText bytes; control
// characters (ANSI escapes among them), Unicode bidirectional overrides and
// invalid UTF-8 written as \xNN or \uNNNN. cut is how many bytes of the
// original line were already dropped before b; a cut line ends with a note
// of how much was left out.
func Sanitize(b []byte, cut int) string {
	// Most lines are printable ASCII throughout: copied at once, not byte
	// by byte (a third of Sanitize's time on the bench's 1 GB log).
	i := 0
	for i < len(b) && i < MaxText && b[i] >= 0x20 && b[i] < 0x7f {
		i++
	}
	if i == len(b) && cut == 0 {
		return string(b)
	}
	out := make([]byte, 0, min(len(b), MaxText)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		if len(out) >= MaxText {
			cut += len(b) - i
			break
		}
		c := b[i]
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out = appendHex(out, c)
		case c == '\t':
			out = append(out, ' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			out = appendHex(out, byte(r))
		case r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0xfeff:
			out = append(out, `\u`...)
			out = strconv.AppendUint(out, uint64(r), 16)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += max(size, 1)
	}
	if cut > 0 {
		out = append(out, " … ["...)
		out = strconv.AppendInt(out, int64(cut), 10)
		out = append(out, " bytes cut]"...)
	}
	return string(out)
}

func appendHex(out []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	return append(out, '\\', 'x', hex[c>>4], hex[c&15])
}

// Addresses returns the endpoints a line names: ip:port pairs (IPv4
// "10.0.0.1:80", IPv6 "[::1]:80", Go's "a:p->b:p") and bare addresses
// ("client: 10.0.0.1" in nginx's error log).
func Addresses(text string) (ports []netip.AddrPort, ips []netip.Addr) {
	b := text
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i > 0 && addrClass[b[i-1]]&inWord != 0 {
			continue
		}
		start := i
		if c == '[' {
			start = i + 1
		} else if addrClass[c]&startsAddr == 0 {
			continue
		}
		j := start
		colons, dots := 0, 0
		for j < len(b) && addrClass[b[j]]&inAddr != 0 {
			if b[j] == ':' {
				colons++
			} else if b[j] == '.' {
				dots++
			}
			j++
		}
		tok := b[start:j]
		if c == '[' { // [v6]:port
			if j < len(b) && b[j] == ']' {
				if a, err := netip.ParseAddr(tok); err == nil {
					if p, n := port(b[j+1:]); n > 0 {
						ports = append(ports, netip.AddrPortFrom(a, p))
						i = j + n
					} else {
						ips = append(ips, a)
						i = j
					}
				}
			}
			continue
		}
		// No token starts inside this one (each of its bytes is inWord):
		// go on after it, not byte by byte through it.
		i = j - 1
		switch {
		case dots == 3 && (colons <= 1 || indexByte(tok, ':') > 6 && indexByte(tok, '.') < indexByte(tok, ':')):
			// IPv4, with a port, perhaps followed by more (Go's "a:p: read").
			ipPart := tok
			if colons >= 1 {
				k := indexByte(tok, ':')
				ipPart = tok[:k]
				j = start + k
			}
			a, err := netip.ParseAddr(ipPart)
			if err != nil {
				continue
			}
			if p, n := port(b[j:]); n > 0 {
				ports = append(ports, netip.AddrPortFrom(a, p))
				j += n
			} else {
				ips = append(ips, a)
			}
			i = j - 1
		case colons >= 2:
			for len(tok) > 0 && tok[len(tok)-1] == '.' {
				tok = tok[:len(tok)-1]
			}
			if maybeIPv6(tok) {
				if a, err := netip.ParseAddr(tok); err == nil {
					ips = append(ips, a)
					i = j - 1
				}
			}
		}
	}
	return ports, ips
}

// maybeIPv6 says tok (hex digits, colons and dots) has the shape of an
// IPv6 address: "::", or eight groups (seven colons), or six and an IPv4
// address. A time ("05:00:01.234") has none of them, and parsing every
// time as an address was a tenth of Addresses' time.
func maybeIPv6(tok string) bool {
	colons, dots := 0, 0
	for i := 0; i < len(tok); i++ {
		switch tok[i] {
		case ':':
			if i > 0 && tok[i-1] == ':' {
				return true
			}
			colons++
		case '.':
			dots++
		}
	}
	return colons == 7 || colons == 6 && dots == 3
}

// addrClass holds, for each byte, what Addresses asks of it: a table
// look-up in place of the comparisons of isHex and isAddrChar, which were
// a third of its time on the bench's 1 GB log.
var addrClass = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		if isAddrChar(b) && b != '[' {
			t[c] |= inWord
		}
		if isHex(b) || b == ':' {
			t[c] |= startsAddr
		}
		if isHex(b) || b == ':' || b == '.' {
			t[c] |= inAddr
		}
	}
	return t
}()

const (
	inWord     = 1 << iota // a token cannot start after it
	startsAddr             // a token can start with it
	inAddr                 // an address can hold it
)

// port reads ":NNNNN" and returns the port and the bytes read.
func port(s string) (uint16, int) {
	if len(s) < 2 || s[0] != ':' {
		return 0, 0
	}
	v, j := 0, 1
	for j < len(s) && j <= 6 && isDigit(s[j]) {
		v = v*10 + int(s[j]-'0')
		j++
	}
	if j == 1 || v > 65535 || (j < len(s) && isDigit(s[j])) {
		return 0, 0
	}
	return uint16(v), j
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isAddrChar(c byte) bool {
	return isHex(c) || c == ':' || c == '.' || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '_'
}

// Tuples returns the connections a line names as "a->b" (Go's net errors:
// "read tcp 10.0.0.3:8080->10.0.0.1:54321: …") or as redis's client
// fields "addr=a laddr=b" ("Client closed connection id=3 addr=… laddr=…"):
// such a line is about that connection and no other.
func Tuples(text string) [][2]netip.AddrPort {
	var out [][2]netip.AddrPort
	if t, ok := redisTuple(text); ok {
		out = append(out, t)
	}
	for i := 0; ; {
		k := indexByte(text[i:], '>')
		if k < 0 {
			return out
		}
		k += i
		i = k + 1
		if k == 0 || text[k-1] != '-' {
			continue
		}
		left, _ := Addresses(text[lastSpace(text[:k-1]) : k-1])
		right, _ := Addresses(text[k+1 : k+1+nextEnd(text[k+1:])])
		if len(left) > 0 && len(right) > 0 {
			out = append(out, [2]netip.AddrPort{left[len(left)-1], right[0]})
		}
	}
}

// redisTuple reads redis's " addr=PEER laddr=LOCAL" (CLIENT LIST's
// fields, which its verbose log lines about a client repeat).
func redisTuple(text string) ([2]netip.AddrPort, bool) {
	i := strings.Index(text, " addr=")
	j := strings.Index(text, " laddr=")
	if i < 0 || j < 0 {
		return [2]netip.AddrPort{}, false
	}
	field := func(s string) (netip.AddrPort, bool) {
		a, err := netip.ParseAddrPort(s[:nextEnd(s)])
		return a, err == nil
	}
	peer, ok1 := field(text[i+len(" addr="):])
	local, ok2 := field(text[j+len(" laddr="):])
	return [2]netip.AddrPort{peer, local}, ok1 && ok2
}

func lastSpace(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' {
			return i + 1
		}
	}
	return 0
}

func nextEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return i
		}
	}
	return len(s)
}
