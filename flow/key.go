package flow

import (
	"encoding/binary"
	"net/netip"
)

// Key identifies a connection regardless of direction: the two endpoints in a
// canonical order. It is a packed, comparable value (36 bytes, IPv4 stored
// IPv4-mapped) so map lookups hash plain bytes rather than netip.Addr's
// zone pointer.
type Key struct {
	lo, hi   [16]byte
	loP, hiP uint16
}

// MakeKey returns the key of the connection between a and b and whether a is
// the key's low side.
func MakeKey(a, b netip.AddrPort) (Key, bool) {
	aa, ba := a.Addr().As16(), b.Addr().As16()
	if less(aa, a.Port(), ba, b.Port()) {
		return Key{lo: aa, hi: ba, loP: a.Port(), hiP: b.Port()}, true
	}
	return Key{lo: ba, hi: aa, loP: b.Port(), hiP: a.Port()}, false
}

// less orders endpoints by address, then port; the address compares as two
// big-endian words rather than byte by byte.
func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		return x < y
	}
	if x, y := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); x != y {
		return x < y
	}
	return ap < bp
}
