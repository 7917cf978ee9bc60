package flow

import (
	"net/netip"
	"unsafe"

	"github.com/rstscope/rstscope/internal/prefetch"
)

// Prefetch starts reading what looking up key k will read first: its home
// slots in the Conn index and the attempt index; and, when the table is
// full, what admitting a new connection will read to evict the least
// recently active one. It returns that connection's originator address
// then (the zero Addr otherwise), for the caller to warm what it keeps by
// address: the evicted connection goes to OnEnd. The caller calls it a
// packet or two ahead of the lookup (analyze's read-ahead decodes and
// keys its frames in batches); it changes nothing. On a SYN flood each
// of those reads is a cache miss (see internal/prefetch).
func (t *Table) Prefetch(k *Key) (evictee netip.Addr) {
	if n := len(t.conns.slots); n > smallIndex {
		prefetch.Line(unsafe.Pointer(&t.conns.slots[k.h&uint64(n-1)]))
	}
	x := &t.attemptIdx
	if x.n > 0 {
		prefetch.Line(unsafe.Pointer(&x.slots[k.h&uint64(len(x.slots)-1)]))
	}
	if t.Len() < t.cfg.MaxConns {
		return netip.Addr{}
	}
	e := t.nextEvicted()
	if e.c != nil {
		return e.c.Ep[FromOrig].Addr.Addr()
	}
	if e.i == 0 {
		return netip.Addr{}
	}
	// Dropping the attempt reads its key's home slot (unindexAttempt).
	// Its key is kept for keyOf, which builds it again when the attempt
	// ends (a tenth of what warming cost).
	a := t.attempt(e.i)
	if t.warmed != a {
		t.warmed, t.warmedKey = nil, t.keyOf(a)
		t.warmed = a
	}
	ek := t.warmedKey
	prefetch.Line(unsafe.Pointer(&x.slots[ek.h&uint64(len(x.slots)-1)]))
	if a.srcLo() {
		return keyAddr(ek.lo, a.ipVersion())
	}
	return keyAddr(ek.hi, a.ipVersion())
}

// smallIndex is the most slots of the Conn index Prefetch leaves alone:
// 64 KiB of them, which stay in the cache anyway (a flood's few real
// connections), and prefetching costs a call (an assembly function).
const smallIndex = 4096
