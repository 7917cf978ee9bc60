package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"

	"github.com/rstscope/rstscope/packet"
)

// Key identifies a connection regardless of direction: the two endpoints in a
// canonical order. It is a packed, comparable value (IPv4 stored
// IPv4-mapped) so map lookups hash plain bytes rather than netip.Addr's
// zone pointer. It carries its own hash, made once by MakeKey: analyze
// makes keys on the goroutine that reads and decodes, and the table's
// indexes (connIndex, attemptIndex) then probe without hashing again. A Go
// map[Key]*Conn hashed the 36 bytes on every lookup and on Offer's and
// Answer's checks besides (aeshash and its probe were a tenth of the
// tracker's CPU time on the harness capture, 1.94 M packets).
type Key struct {
	lo, hi   [16]byte
	loP, hiP uint16
	h        uint64 // hashOf(lo, hi, loP, hiP), a function of the rest
}

// keySeed keys hashOf for this process: a flood with chosen addresses
// cannot aim at one probe chain without knowing it.
var keySeed = [5]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()}

// MakeKey returns the key of the connection between a and b and whether a is
// the key's low side.
func MakeKey(a, b netip.AddrPort) (k Key, aLow bool) {
	aa, ba := a.Addr().As16(), b.Addr().As16()
	ap, bp := a.Port(), b.Port()
	if less(aa, ap, ba, bp) {
		k.lo, k.hi, k.loP, k.hiP, aLow = aa, ba, ap, bp, true
	} else {
		k.lo, k.hi, k.loP, k.hiP = ba, aa, bp, ap
	}
	k.h = hashOf(&k.lo, &k.hi, k.loP, k.hiP)
	return k, aLow
}

// hashOf is wyhash's mixing (the 128-bit product's halves folded) over
// the key's words and the process's seed: three multiplications.
func hashOf(lo, hi *[16]byte, loP, hiP uint16) uint64 {
	le := binary.LittleEndian
	a := mum(le.Uint64(lo[:8])^keySeed[0], le.Uint64(lo[8:])^keySeed[1])
	b := mum(le.Uint64(hi[:8])^keySeed[2], le.Uint64(hi[8:])^keySeed[3])
	return mum(a^(uint64(loP)<<16|uint64(hiP)), b^keySeed[4])
}

func mum(a, b uint64) uint64 {
	h, l := bits.Mul64(a, b)
	return h ^ l
}

// srcIsLo reports whether p's source is k's low side, as MakeKey of p's
// source and destination says: k is that key.
func (k *Key) srcIsLo(p *packet.Packet) bool {
	if p.SrcPort != k.loP || p.Src.As16() != k.lo {
		return false
	}
	return k.lo != k.hi || k.loP != k.hiP // MakeKey puts equal ends' source high
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
