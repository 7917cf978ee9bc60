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
	// CloseDelay ends a connection this long after it closed completely in
	// Zeek's sense (a reset, or a FIN once the peer closed or while it has
	// sent nothing): Zeek's tcp_close_delay, 5 s. Packets until then
	// belong to the connection; a packet after it starts a new one.
	CloseDelay time.Duration
	// AttemptTimeout ends a connection attempt nobody answered (the
	// originator sent only SYNs, the responder nothing) this long after its
	// first packet: Zeek's tcp_attempt_delay, 5 s, after which Zeek logs
	// the attempt and removes the connection. Linux retransmits a SYN after
	// 1 and 3 s, within it; an answer later than 5 s starts a new one.
	AttemptTimeout time.Duration
	// MaxConns caps tracked connections; the least recently active one is
	// evicted to admit a new one, closed connections first, then
	// unanswered attempts, then open ones.
	MaxConns int
}

// DefaultConfig is what analyze uses unless told otherwise. MaxConns is
// 250 000 so that a SYN flood stays within 128 MiB at the defaults:
// records of a full table are most of a flood's memory, and at 500 000
// the SYN-cookie flood peaked at 175–180 MiB and the all-RST flood at
// 149–154; at 250 000, 117 and 101 MiB (bench/README.md, floods). What
// it costs: captures with more than 250 000 connections alive at once
// (open within IdleTimeout, closed within CloseDelay) evict the least
// recently active, counted in the report; none of the 207 captures of
// testdata and the corpus tracks more than 23 at once, the 573 k-packet
// bench capture 13 413.
var DefaultConfig = Config{IdleTimeout: 5 * time.Minute, CloseDelay: 5 * time.Second, AttemptTimeout: 5 * time.Second, MaxConns: 250_000}

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
//
// Connections sit on one of two lists, each ordered by last activity: open
// ones, which expire after IdleTimeout, and closed ones, which expire after
// CloseDelay. With one list, a single idle open connection at its head held
// back every closed one behind it: on bench/out/traffic.pcap (126 k
// connections in 48 s) the table peaked at 71 k connections instead of the
// few thousand closed in the last 5 s.
type Table struct {
	cfg    Config
	conns  connIndex
	open   connList
	closed connList
	last   *Conn // the connection of the previous packet
	nowNS  int64 // the table's clock: the latest packet time, in Unix nanoseconds
	stats  Stats
	// OnEnd, when set, sees every connection as it leaves the table, before
	// its memory is reused.
	OnEnd func(c *Conn, why EndReason)
	free  *Conn  // ended connections kept for reuse
	spare []Conn // the rest of allocConn's chunk

	// Connection attempts that are one SYN so far (see Offer), in a slab
	// of pointer-free chunks indexed from 1, on a list oldest first; and
	// records, attempts with a few replies (see Answer), on lists of their
	// own: open ones beside t.open, closed ones beside t.closed.
	attemptIdx     attemptIndex
	slab           *slab[attempt]
	replies        *slab[reply]
	addrs6         *slab[addrPair] // attempts' keys that are not IPv4's
	attempts       slotList
	rOpen, rClosed slotList
	replay         packet.Packet // an attempt's packets, rebuilt
	warmed         *attempt      // the attempt whose key Prefetch built, until freed
	warmedKey      Key
	scratch        *Conn    // an ending attempt, as OnEnd sees it
	notes          []string // noted verdicts of records' resets, interned
	bigNotes       map[uint64]ResetNote
	// tick orders a Conn list and the record list beside it as one list
	// would: each connection or record takes the next tick when it moves to
	// the back of its list, so the least recently active of the two heads
	// is the one with the lower tick.
	tick uint64
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
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultConfig.AttemptTimeout
	}
	return &Table{cfg: cfg}
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats { return t.stats }

// Len returns the number of connections tracked now.
func (t *Table) Len() int { return t.conns.n + t.attemptIdx.n }

// Lookup returns the connection p belongs to, creating it if needed, and the
// packet's direction. It does not apply the packet: call c.Update for that,
// after looking at the state before it. ts is the packet's capture time;
// captures are not strictly time-ordered, so the table's clock only moves
// forward.
//
// A packet starts a new connection on a 4-tuple where Zeek would: when the
// old one was deleted (tcp_close_delay after it closed, or idle past the
// timeout), or when p is a SYN that Zeek's IsReuse takes for a new
// connection (see reused).
func (t *Table) Lookup(p *packet.Packet, ts time.Time) (*Conn, Dir) {
	k, _ := MakeKey(p.SrcAddrPort(), p.DstAddrPort())
	return t.LookupKey(p, k, ts)
}

// LookupKey is Lookup for a packet whose key the caller made already
// (MakeKey of its source and destination): analyze makes it on the
// goroutine that reads and decodes, where it was a tenth of the work of
// the one that tracks.
func (t *Table) LookupKey(p *packet.Packet, k Key, ts time.Time) (*Conn, Dir) {
	if ns := ts.UnixNano(); ns > t.nowNS {
		t.nowNS = ns
	}
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	// Consecutive packets often share a connection (bulk transfers, a
	// handshake's replies); one remembered entry spares the map probe,
	// whose cache misses led the profile on bench/out/traffic.pcap.
	c := t.last
	if c == nil || c.Key != k {
		c = t.conns.find(&k)
		if c == nil && t.attemptIdx.n > 0 {
			if i := t.findAttempt(k); i != 0 {
				if t.attemptGone(i) {
					t.stats.Expired++
					t.endAttempt(i, EndIdle)
				} else {
					c = t.promote(i)
				}
			}
		}
	}
	if c != nil {
		switch {
		case t.gone(c):
			t.stats.Expired++
			t.end(c, EndIdle)
			c = nil
		case t.reused(c, p):
			t.end(c, EndReused)
			c = nil
		}
	}
	if c == nil {
		t.expire()
		if t.Len() >= t.cfg.MaxConns {
			t.stats.Evicted++
			t.evictOne()
		}
		c = t.newConn(k, p, src, dst)
	} else {
		t.touch(c)
	}
	t.last = c
	if c.Ep[FromOrig].Addr == src {
		return c, FromOrig
	}
	return c, FromResp
}

// Process looks up and applies a packet in one step.
func (t *Table) Process(p *packet.Packet, ts time.Time, frame uint64, ipBytes int) (*Conn, Dir) {
	c, d := t.Lookup(p, ts)
	t.Update(c, p, d, ts, frame, ipBytes)
	return c, d
}

// gone reports whether Zeek would have deleted c by now: tcp_close_delay
// after it closed completely (TCPSessionAdapter::ConnectionClosed arms the
// delete timer), or after IdleTimeout without a packet
// (tcp_inactivity_timeout).
func (t *Table) gone(c *Conn) bool {
	if c.closeNS != 0 && !c.finUnacked() && time.Duration(t.nowNS-c.closeNS) >= t.cfg.CloseDelay {
		return true
	}
	if c.attempt() && time.Duration(t.nowNS-c.Start().UnixNano()) >= t.cfg.AttemptTimeout {
		return true
	}
	return time.Duration(t.nowNS-c.lastNS) >= t.cfg.IdleTimeout
}

// reused reports whether p, a SYN, starts a new connection on c's 4-tuple,
// after TCPSessionAdapter::IsReuse: a SYN (or, for a connection whose
// originator sent nothing, a SYN-ACK) once either side closed; or one with
// a new initial sequence number from the same side while the old attempt
// was never answered (Zeek's SYN_seq_jump). Zeek also starts over on a new
// SYN in an established connection (active_connection_reuse); here that
// SYN stays with the connection, since the reset it provokes is only
// explained with the old connection's state (syn-conflict). See
// docs/zeek.md.
func (t *Table) reused(c *Conn, p *packet.Packet) bool {
	f := p.Flags
	if !f.Has(packet.SYN) {
		return false
	}
	co := FromOrig
	if f.Has(packet.ACK) {
		if c.Ep[FromOrig].State != Inactive {
			return false // not a half connection
		}
		co = FromResp
	}
	if c.zeekClosed() {
		return true
	}
	seq := Seq(p.Seq)
	if seq == c.History.z[co].start {
		return false // a retransmission
	}
	if !f.Has(packet.ACK) && c.Ep[co].State == SYNAckSent && c.Ep[FromResp].State == Inactive &&
		seq == c.History.z[FromResp].start {
		return false // SYN and SYN-ACK captured in reverse order
	}
	// Only the side that sent the first SYN restarts the attempt: a SYN
	// from the other side is a simultaneous open or split handshake, where
	// Zeek's start-over would swap client and server.
	s := c.Ep[co].State
	return (s == SYNSent || s == SYNAckSent) && c.Ep[co.Other()].State == Inactive &&
		c.Ep[co].Addr == p.SrcAddrPort()
}

// allocConn returns a zero Conn: an ended one cleared, or the next of a
// chunk of them. One allocation a Conn (1 456 bytes, each zeroed on its
// own and with its own heap header) took about 0.03 s a run of the harness
// capture's 1.9 M packets in promote alone; a chunk's 32 are zeroed at
// once. Memory is as before but for one chunk (46 KiB): ended Conns stay
// on the free list for good anyway.
func (t *Table) allocConn() *Conn {
	if c := t.free; c != nil {
		t.free = c.next
		*c = Conn{}
		return c
	}
	if len(t.spare) == 0 {
		t.spare = make([]Conn, connChunk)
	}
	c := &t.spare[0]
	t.spare = t.spare[1:]
	return c
}

// connChunk is how many Conns allocConn allocates at once.
const connChunk = 32

func (t *Table) newConn(k Key, p *packet.Packet, src, dst netip.AddrPort) *Conn {
	c := t.allocConn()
	t.stats.Conns++
	c.ID, c.Key = t.stats.Conns, k
	c.VLAN, c.Tunnels = p.VLAN, p.Tunnels
	orig, resp := src, dst
	if flipRoles(p) {
		orig, resp = dst, src
		c.Flipped = true
		c.History.add('^')
	}
	c.Ep[FromOrig].Addr, c.Ep[FromResp].Addr = orig, resp
	c.SYNSeen = p.Flags.Has(packet.SYN) && !p.Flags.Has(packet.ACK)
	t.conns.add(c)
	t.stats.Peak = max(t.stats.Peak, t.Len())
	t.pushBack(c)
	return c
}

// connList is a doubly linked list of connections, least recently active first.
type connList struct{ head, tail *Conn }

// entry is a tracked connection in either form: a Conn, or a record (slab
// index, see Answer); the zero entry is none.
type entry struct {
	c *Conn
	i uint32
}

// first returns the least recently active of a Conn list and its record
// list, as if they were one list.
func (t *Table) first(l *connList, r *slotList) entry {
	c, i := l.head, r.head
	switch {
	case i == 0:
		return entry{c: c}
	case c == nil || t.reply(t.attempt(i).more).tick < c.tick:
		return entry{i: i}
	}
	return entry{c: c}
}

func (e entry) none() bool { return e.c == nil && e.i == 0 }

func (t *Table) lastNS(e entry) int64 {
	if e.c != nil {
		return e.c.lastNS
	}
	return t.recordLastNS(t.attempt(e.i))
}

func (t *Table) endEntry(e entry, why EndReason) {
	if e.c != nil {
		t.end(e.c, why)
	} else {
		t.endAttempt(e.i, why)
	}
}

// expire ends open connections idle past the timeout and closed ones past
// the close delay, oldest first; each step is O(1).
func (t *Table) expire() {
	for e := t.first(&t.open, &t.rOpen); !e.none() && time.Duration(t.nowNS-t.lastNS(e)) >= t.cfg.IdleTimeout; e = t.first(&t.open, &t.rOpen) {
		t.stats.Expired++
		t.endEntry(e, EndIdle)
	}
	for e := t.first(&t.closed, &t.rClosed); !e.none() && (e.c == nil && t.attemptGone(e.i) || e.c != nil && t.gone(e.c)); e = t.first(&t.closed, &t.rClosed) {
		t.stats.Expired++
		t.endEntry(e, EndIdle)
	}
	for i := t.attempts.head; i != 0 && t.attemptGone(i); i = t.attempts.head {
		t.stats.Expired++
		t.endAttempt(i, EndIdle)
	}
}

// evictOne ends the least recently active connection to make room: a
// closed one first, then an unanswered attempt, then an open one, so that
// a SYN flood pushes out its own SYNs rather than the connections that
// carry traffic.
func (t *Table) evictOne() {
	t.endEntry(t.nextEvicted(), EndEvicted)
}

// nextEvicted is the connection evictOne would end now.
func (t *Table) nextEvicted() entry {
	if e := t.first(&t.closed, &t.rClosed); !e.none() {
		return e
	} else if t.attempts.head != 0 {
		return entry{i: t.attempts.head}
	}
	return t.first(&t.open, &t.rOpen)
}

// Flush ends every connection, as at the end of the input: in order of
// last activity, so the output reads in time order.
func (t *Table) Flush() {
	for {
		o, c := t.first(&t.open, &t.rOpen), t.first(&t.closed, &t.rClosed)
		var next entry
		switch {
		case o.none():
			next = c
		case c.none() || t.lastNS(o) <= t.lastNS(c):
			next = o
		default:
			next = c
		}
		if a := t.attempts.head; a != 0 && (next.none() || t.attempt(a).ns < t.lastNS(next)) {
			t.endAttempt(a, EndFlush)
			continue
		}
		if next.none() {
			return
		}
		t.endEntry(next, EndFlush)
	}
}

func (t *Table) end(c *Conn, why EndReason) {
	if t.last == c {
		t.last = nil
	}
	if t.OnEnd != nil {
		t.OnEnd(c, why)
	}
	t.conns.remove(c)
	t.unlink(c)
	c.next, t.free = t.free, c
}

// listOf is the list c belongs on now.
func (t *Table) listOf(c *Conn) *connList {
	if c.closeNS == 0 || c.finUnacked() {
		return &t.open
	}
	return &t.closed
}

func (t *Table) pushBack(c *Conn) {
	l := t.listOf(c)
	c.list = l
	t.tick++
	c.tick = t.tick
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (t *Table) unlink(c *Conn) {
	l := c.list
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.list = nil, nil, nil
}

// touch moves c to the back of the list it belongs on.
func (t *Table) touch(c *Conn) {
	if c.list == t.listOf(c) && c.list.tail == c {
		t.tick++
		c.tick = t.tick // past the records moved to the back since
		return
	}
	t.unlink(c)
	t.pushBack(c)
}

// Update applies a packet to c, as Conn.Update does, and keeps the table's
// lists in step: a connection that closes moves to the closed list.
func (t *Table) Update(c *Conn, p *packet.Packet, d Dir, ts time.Time, frame uint64, ipBytes int) {
	c.Update(p, d, ts, frame, ipBytes)
	if c.list != t.listOf(c) {
		t.touch(c)
	}
}

// flipRoles is Zeek's choice of originator for a connection whose first
// packet is not a plain SYN. A SYN-ACK comes from the responder (the
// conn-size-flip baseline shows Zeek flipping it whatever the ports).
// Otherwise TCPAnalyzer::WantConnection guesses by port: the side on a
// likely server port is the responder; when both are, it flips only a
// non-SYN packet sent from the lower port.
func flipRoles(p *packet.Packet) bool {
	f := p.Flags
	if f.Has(packet.SYN) && !f.Has(packet.ACK) {
		return false
	}
	if f.Has(packet.SYN|packet.ACK) && !f.Has(packet.RST) {
		return true
	}
	if !likelyServerPort(p.SrcPort) {
		return false
	}
	if likelyServerPort(p.DstPort) {
		return !f.Has(packet.SYN) && p.SrcPort < p.DstPort
	}
	return true
}

// likelyServerPorts are the TCP ports Zeek's base protocol scripts add to
// likely_server_ports (each script's "redef likely_server_ports += { ports }"),
// as a bitmap so the test costs no lookup.
var likelyServerPorts = func() (m [65536 / 64]uint64) {
	for _, p := range [...]uint16{
		21, 2811, // ftp
		22,      // ssh
		23,      // telnet (login)
		25, 587, // smtp
		53,                                        // dns
		80, 81, 631, 1080, 3128, 8000, 8080, 8888, // http
		88,       // krb
		110,      // pop3
		111,      // sunrpc
		135,      // dce_rpc
		139, 445, // smb
		143,       // imap
		389, 3268, // ldap
		443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223, // ssl
		502,        // modbus
		1433,       // tds
		1883,       // mqtt
		3306,       // mysql
		3389,       // rdp
		5060,       // sip
		5222, 5269, // xmpp
		5432,                   // postgresql
		6379,                   // redis
		6666, 6667, 6668, 6669, // irc
		20000, // dnp3
		44818, // enip
	} {
		m[p/64] |= 1 << (p % 64)
	}
	return m
}()

func likelyServerPort(p uint16) bool { return likelyServerPorts[p/64]&(1<<(p%64)) != 0 }
