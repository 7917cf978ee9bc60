package flow

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/packet"
)

// Config bounds a Table's memory.
type Config struct {
	// IdleTimeout ends a connection after this much capture time without a
	// packet (Zeek's tcp_inactivity_timeout is 5 minutes).
	IdleTimeout time.Duration
	// CloseDelay ends a connection this long after it closed (both FINs or
	// a reset), leaving room for look-ahead and late packets.
	CloseDelay time.Duration
	// MaxConns caps tracked connections; the least recently active one is
	// evicted to admit a new one.
	MaxConns int
}

// DefaultConfig is what analyze uses unless told otherwise.
var DefaultConfig = Config{IdleTimeout: 5 * time.Minute, CloseDelay: 5 * time.Second, MaxConns: 500_000}

// EndReason says why a connection left the table.
type EndReason uint8

const (
	EndIdle    EndReason = iota // idle timeout or close delay passed
	EndEvicted                  // the table was full
	EndReused                   // a new SYN started a new connection on the 4-tuple
	EndFlush                    // the input ended
)

// Stats counts what a table did.
type Stats struct {
	Conns   uint64 // connections created
	Evicted uint64 // connections evicted by the cap
	Expired uint64 // connections ended by idle expiry or close delay
	Peak    int    // most connections tracked at once
}

// Table tracks connections. It is not safe for concurrent use.
type Table struct {
	cfg   Config
	conns map[Key]*Conn
	head  *Conn // least recently active
	tail  *Conn
	now   time.Time
	stats Stats
	// OnEnd, when set, sees every connection as it leaves the table, before
	// its memory is reused.
	OnEnd func(c *Conn, why EndReason)
	free  *Conn // ended connections kept for reuse
}

// NewTable returns an empty table.
func NewTable(cfg Config) *Table {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultConfig.MaxConns
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultConfig.IdleTimeout
	}
	if cfg.CloseDelay <= 0 {
		cfg.CloseDelay = DefaultConfig.CloseDelay
	}
	return &Table{cfg: cfg, conns: make(map[Key]*Conn)}
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats { return t.stats }

// Len returns the number of connections tracked now.
func (t *Table) Len() int { return len(t.conns) }

// Lookup returns the connection p belongs to, creating it if needed, and the
// packet's direction. It does not apply the packet: call c.Update for that,
// after looking at the state before it. ts is the packet's capture time;
// captures are not strictly time-ordered, so the table's clock only moves
// forward.
func (t *Table) Lookup(p *packet.Packet, ts time.Time) (*Conn, Dir) {
	if ts.After(t.now) {
		t.now = ts
	}
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	k, _ := MakeKey(src, dst)
	c := t.conns[k]
	if c != nil && t.reused(c, p, src) {
		t.end(c, EndReused)
		c = nil
	}
	if c == nil {
		t.expire()
		if len(t.conns) >= t.cfg.MaxConns {
			t.stats.Evicted++
			t.end(t.head, EndEvicted)
		}
		c = t.newConn(k, p, src, dst)
	} else {
		t.touch(c)
	}
	if c.Ep[FromOrig].Addr == src {
		return c, FromOrig
	}
	return c, FromResp
}

// Process looks up and applies a packet in one step.
func (t *Table) Process(p *packet.Packet, ts time.Time, frame uint64, ipBytes int) (*Conn, Dir) {
	c, d := t.Lookup(p, ts)
	c.Update(p, d, ts, frame, ipBytes)
	return c, d
}

// reused reports whether p, a SYN, starts a new connection on a 4-tuple whose
// old connection is over (Zeek's connection reuse: a SYN with a new ISN after
// both sides closed or one reset).
func (t *Table) reused(c *Conn, p *packet.Packet, src netip.AddrPort) bool {
	if !p.Flags.Has(packet.SYN) || p.Flags.Has(packet.ACK) || p.Flags.Has(packet.RST) {
		return false
	}
	if !c.Closed() {
		return false
	}
	e := &c.Ep[FromResp]
	if c.Ep[FromOrig].Addr == src {
		e = &c.Ep[FromOrig]
	}
	return !e.SawSYN || e.ISN != Seq(p.Seq)
}

func (t *Table) newConn(k Key, p *packet.Packet, src, dst netip.AddrPort) *Conn {
	c := t.free
	if c != nil {
		t.free = c.next
		*c = Conn{}
	} else {
		c = new(Conn)
	}
	t.stats.Conns++
	c.ID, c.Key = t.stats.Conns, k
	c.VLAN, c.Tunnels = p.VLAN, p.Tunnels
	orig, resp := src, dst
	// A SYN-ACK first means we missed the SYN: the sender is the responder
	// (Zeek flips roles and records '^').
	if p.Flags.Has(packet.SYN|packet.ACK) && !p.Flags.Has(packet.RST) {
		orig, resp = dst, src
		c.Flipped = true
		c.History.add('^')
	}
	c.Ep[FromOrig].Addr, c.Ep[FromResp].Addr = orig, resp
	c.SYNSeen = p.Flags.Has(packet.SYN) && !p.Flags.Has(packet.ACK)
	t.conns[k] = c
	t.stats.Peak = max(t.stats.Peak, len(t.conns))
	t.pushBack(c)
	return c
}

// expire ends connections idle past the timeout, or closed past the close
// delay, oldest first. Each step is O(1) because the list is ordered by
// last activity.
func (t *Table) expire() {
	for c := t.head; c != nil; c = t.head {
		idle := t.now.Sub(c.Last())
		if idle < t.cfg.CloseDelay || (idle < t.cfg.IdleTimeout && !c.Closed()) {
			// The oldest is still live; a closed one further on may be
			// due, but waits for its turn rather than cost a scan.
			return
		}
		t.stats.Expired++
		t.end(c, EndIdle)
	}
}

// Flush ends every connection, oldest first, as at the end of the input.
func (t *Table) Flush() {
	for t.head != nil {
		t.end(t.head, EndFlush)
	}
}

func (t *Table) end(c *Conn, why EndReason) {
	if t.OnEnd != nil {
		t.OnEnd(c, why)
	}
	delete(t.conns, c.Key)
	t.unlink(c)
	c.next, t.free = t.free, c
}

func (t *Table) pushBack(c *Conn) {
	c.prev, c.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = c
	} else {
		t.head = c
	}
	t.tail = c
}

func (t *Table) unlink(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		t.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		t.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

func (t *Table) touch(c *Conn) {
	if t.tail == c {
		return
	}
	t.unlink(c)
	t.pushBack(c)
}
