package applog

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The reference parsers: Addresses and Sanitize as they were before they
// were made faster (a class table, a check before parsing IPv6, a copy of
// a printable run at once). The fast ones must give exactly what these
// give, on the table tests' lines, random lines built from the pieces logs
// are made of, and fuzzed bytes.

func addressesRef(text string) (ports []netip.AddrPort, ips []netip.Addr) {
	b := text
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i > 0 && isAddrChar(b[i-1]) && b[i-1] != '[' {
			continue
		}
		start := i
		if c == '[' {
			start = i + 1
		} else if !isHex(c) && c != ':' {
			continue
		}
		j := start
		colons, dots := 0, 0
		for j < len(b) && (isHex(b[j]) || b[j] == ':' || b[j] == '.') {
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
			if a, err := netip.ParseAddr(tok); err == nil {
				ips = append(ips, a)
				i = j - 1
			}
		}
	}
	return ports, ips
}

func sanitizeRef(b []byte, cut int) string {
	out := make([]byte, 0, min(len(b), MaxText)+16)
	i := 0
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

// addrPieces are what log lines near addresses are made of.
var addrPieces = []string{
	"10.0.0.1", "10.77.0.2", ":8080", ":65536", ":0", ":123456", "[", "]", "::1", "fe80::1", "fd79:12::2",
	"2001:db8:0:0:0:0:0:1", "1:2:3:4:5:6:1.2.3.4", "::ffff:10.0.0.1", "08:40:01.123456", "2026/11/30",
	"30/Nov/2026:05:00:01.234", "->", " ", ", ", "client: ", "upstream: \"http://", "\"", ".", "..", ":", "a", "f",
	"failed", "deadbeef", "g", "_", "-", "\t", "\x1b[2J", "\xff", "é", "\u202e", "addr=", " laddr=",
	"1.2.3", "1.2.3.4.5", "256.1.1.1", "0x10", "abc:def:12", "1::2::3", "::", ":::",
}

func randomLine(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(30) {
		b.WriteString(addrPieces[r.IntN(len(addrPieces))])
	}
	return b.String()
}

func checkSameAsRef(t *testing.T, s string) {
	t.Helper()
	p, i := Addresses(s)
	rp, ri := addressesRef(s)
	if !slices.Equal(p, rp) || !slices.Equal(i, ri) {
		t.Fatalf("Addresses(%q) = %v %v, reference %v %v", s, p, i, rp, ri)
	}
	for _, cut := range []int{0, 7} {
		if got, want := Sanitize([]byte(s), cut), sanitizeRef([]byte(s), cut); got != want {
			t.Fatalf("Sanitize(%q, %d) = %q, reference %q", s, cut, got, want)
		}
	}
}

// TestParsersMatchReference: on the table tests' lines and 200 000 random
// lines of address pieces, Addresses and Sanitize give what the
// reference gives.
func TestParsersMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		checkSameAsRef(t, randomLine(r))
	}
	long := strings.Repeat("10.0.0.1:80 ", MaxText/12+5)
	for _, s := range []string{"", long, long[:MaxText], long[:MaxText-1] + "\xff", strings.Repeat("é", MaxText)} {
		checkSameAsRef(t, s)
	}
}

func FuzzParsersMatchReference(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 20 {
		f.Add(randomLine(r))
	}
	f.Fuzz(func(t *testing.T, s string) { checkSameAsRef(t, s) })
}
