package kernel

import (
	"net/netip"
	"time"
)

// Reset is one reset as this host saw it: the event of the code that made
// it (Sent, Wire, Netfilter), or the Received event when the host only
// received it. When the host both sent and received it (loopback, or two
// watched namespaces), Recv is the receiving socket's event and Kind is
// Sent; otherwise Recv.Kind is 0.
type Reset struct {
	Event
	Recv Event
}

// Correlator turns the kernel's events into resets, one per reset, in time
// order. Every event waits Window, which is what it takes for:
//
//   - a Wire event to be claimed by the stack: tcp_v{4,6}_send_reset
//     announce before transmitting and the eBPF side drops those, but
//     tcp_send_active_reset (close, abort, keepalive) fires tcp:tcp_send_reset
//     only after tcp_transmit_skb, so its RST reaches net_dev_queue first;
//     a Wire event nobody claims within Window either side is foreign;
//   - the receiving socket's tcp_receive_reset to join the sender's event
//     when both ends are on this host, so the reset is reported once;
//   - events from different CPUs to be put back in time order.
//
// Lookups are open-addressed tables keyed by tuple (table.go) and expiry
// walks a time-ordered queue, so each event costs O(1) amortised however
// many are held.
type Correlator struct {
	// Window is how long an event waits; 0 means 250ms. Loopback and veth
	// deliver the late announcement within microseconds; the margin covers
	// a RST parked in a neighbour queue.
	Window time.Duration

	queue []*held // by Boot; the front is the oldest
	sent  table   // pairKey -> held events of code that made a RST (Sent, Wire, Netfilter)
	recv  table   // pairKey -> held Received events, not yet joined
	wire  table   // flowKey -> held Wire events
	// recent holds Sent events by tuple -> Boot for claiming Wire events,
	// in two generations swapped every Window: an entry lives one to two
	// Windows, and forgetting a generation is one clear, not a lookup and
	// a delete per entry (those were a tenth of watch's CPU under a
	// SYN flood, perf).
	recent  [2]map[flowKey]uint64
	genFrom uint64  // Boot when recent[0] started
	free    []*held // recycled items: Add allocates nothing in steady state
	live    int
}

type held struct {
	r    Reset
	dead bool // joined into another or claimed: skip on release
}

// tupleKey is a RST's addresses as 40 bytes of plain memory, no padding and
// no pointers, so the maps hash it with one memhash and compare it with one
// memequal. Keyed by two netip.AddrPort (each an address, a zone pointer,
// a port and padding) a key was 72 bytes hashed and compared field by
// field: map access was a quarter of watch's CPU under a SYN flood
// (--cpuprofile, docs/watch.md). Addresses are 16 bytes, IPv4 as
// ::ffff:a.b.c.d; the eBPF side already folds v4-mapped IPv6 into IPv4, so
// no two tuples share a key.
type tupleKey struct {
	from, to     [16]byte
	fport, tport uint16
	netns        uint32
}

// pairKey joins across namespaces of one host: the same RST is sent in one
// and received in another with the same addresses. A loopback RST never
// leaves its namespace, and every namespace has its own 127.0.0.1, so
// there the namespace is part of the key.
type pairKey tupleKey

func pairOf(from, to netip.AddrPort, netns uint32) pairKey {
	if !from.Addr().IsLoopback() {
		netns = 0
	}
	return pairKey{from.Addr().As16(), to.Addr().As16(), from.Port(), to.Port(), netns}
}

// flowKey is a RST's tuple inside one namespace, where it left a device.
type flowKey tupleKey

func flowOf(from, to netip.AddrPort, netns uint32) flowKey {
	return flowKey{from.Addr().As16(), to.Addr().As16(), from.Port(), to.Port(), netns}
}

// ghostWindow bounds the gap between a socket's own tcp_receive_reset and
// its tcp_send_reset when it aborts itself on data after close
// (tcp_rcv_state_process calls tcp_reset, then the caller sends the RST,
// in one softirq run): 13 us apart in TestWatchSelfAbortOnce (cmd/rstscope);
// the margin is generous.
const ghostWindow = uint64(10 * time.Millisecond)

func (c *Correlator) window() uint64 {
	if c.Window <= 0 {
		return uint64(250 * time.Millisecond)
	}
	return uint64(c.Window)
}

func (c *Correlator) init() {
	if c.recent[0] == nil {
		c.recent = [2]map[flowKey]uint64{make(map[flowKey]uint64), make(map[flowKey]uint64)}
	}
}

// Add takes one event; it comes out of Expire, joined or dropped, after
// Window.
func (c *Correlator) Add(e *Event) {
	c.init()
	pk := pairOf(e.From, e.To, e.NetNS)
	fk := flowOf(e.From, e.To, e.NetNS)
	switch e.Kind {
	case Sent:
		c.recent[0][fk] = e.Boot
		h := c.hold(e)
		if w := c.wire.get(tupleKey(fk)); w != nil && absDiff(w.r.Boot, e.Boot) <= c.window() {
			h.r.Recv = w.r.Recv
			c.kill(w)
		}
		c.join(h, pk)
		// A socket that aborts itself (TCP_ABORT_ON_DATA) runs tcp_reset on
		// its own end first: a Received event for the reverse tuple that no
		// RST on the wire matches.
		if g := c.recv.get(tupleKey(pairOf(e.To, e.From, e.NetNS))); g != nil && g.r.NetNS == e.NetNS && absDiff(g.r.Boot, e.Boot) <= ghostWindow {
			c.kill(g)
		}
	case Received:
		if s := c.sent.get(tupleKey(pk)); s != nil && s.r.Recv.Kind == 0 && absDiff(s.r.Boot, e.Boot) <= c.window() {
			s.r.Recv = *e
			return
		}
		if s := c.sent.get(tupleKey(pairOf(e.To, e.From, e.NetNS))); s != nil && s.r.NetNS == e.NetNS && absDiff(s.r.Boot, e.Boot) <= ghostWindow {
			return // the ghost of a self-abort, after its Sent
		}
		c.recv.put(tupleKey(pk), c.hold(e))
	case Wire:
		if c.announced(fk, e.Boot) {
			return
		}
		// A RST that leaves two devices (a bridge and its port) is one RST.
		if w := c.wire.get(tupleKey(fk)); w != nil && absDiff(w.r.Boot, e.Boot) <= c.window() {
			return
		}
		h := c.hold(e)
		c.wire.put(tupleKey(fk), h)
		c.join(h, pk)
	case Netfilter:
		c.join(c.hold(e), pk)
	default:
		c.hold(e)
	}
}

// join attaches a held Received event for the same RST to h, the event of
// the code that made it, and indexes h for one that comes later.
func (c *Correlator) join(h *held, pk pairKey) {
	if r := c.recv.get(tupleKey(pk)); r != nil && h.r.Recv.Kind == 0 && absDiff(r.r.Boot, h.r.Boot) <= c.window() {
		h.r.Recv = r.r.Event
		c.kill(r)
	}
	c.sent.put(tupleKey(pk), h)
}

// hold queues e in Boot order. Events arrive nearly in order (one ring
// buffer; CPUs interleave by microseconds), so the walk from the back is
// short.
func (c *Correlator) hold(e *Event) *held {
	var h *held
	if n := len(c.free); n > 0 {
		h, c.free = c.free[n-1], c.free[:n-1]
		*h = held{}
	} else {
		h = new(held)
	}
	h.r.Event = *e
	i := len(c.queue)
	c.queue = append(c.queue, h)
	for i > 0 && c.queue[i-1].r.Boot > e.Boot {
		c.queue[i] = c.queue[i-1]
		i--
	}
	c.queue[i] = h
	c.live++
	return h
}

func (c *Correlator) kill(h *held) {
	if !h.dead {
		h.dead = true
		c.live--
	}
	c.unindex(h)
}

// unindex removes h from whichever map still points at it.
func (c *Correlator) unindex(h *held) {
	e := &h.r.Event
	pk := pairOf(e.From, e.To, e.NetNS)
	// Received events are indexed only in recv, the rest only in sent (and
	// wire): one map lookup per released event, not two (the correlator's
	// maps were 13 % of watch's CPU under a SYN flood, perf).
	if e.Kind == Received {
		c.recv.del(tupleKey(pk), h)
		return
	}
	c.sent.del(tupleKey(pk), h)
	if e.Kind == Wire {
		c.wire.del(tupleKey(flowOf(e.From, e.To, e.NetNS)), h)
	}
}

// Expire passes to emit, oldest first, each reset that waited Window by
// boot time now (CLOCK_BOOTTIME ns), and forgets old announcements. The
// Reset is valid only during the call.
func (c *Correlator) Expire(now uint64, emit func(*Reset)) {
	c.release(func(h *held) bool { return now > h.r.Boot && now-h.r.Boot >= c.window() }, emit)
	if c.recent[0] != nil && now > c.genFrom && now-c.genFrom >= c.window() {
		clear(c.recent[1])
		c.recent[0], c.recent[1] = c.recent[1], c.recent[0]
		c.genFrom = now
	}
}

// announced reports whether the stack announced the RST with tuple fk
// within Window of boot.
func (c *Correlator) announced(fk flowKey, boot uint64) bool {
	for _, m := range c.recent {
		if at, ok := m[fk]; ok && absDiff(at, boot) <= c.window() {
			return true
		}
	}
	return false
}

// Flush passes every held reset to emit, oldest first (at the end of a
// watch).
func (c *Correlator) Flush(emit func(*Reset)) {
	c.release(func(*held) bool { return true }, emit)
}

func (c *Correlator) release(due func(*held) bool, emit func(*Reset)) {
	n := 0
	for ; n < len(c.queue); n++ {
		h := c.queue[n]
		if !due(h) {
			break
		}
		if !h.dead {
			c.live--
			c.unindex(h)
			emit(&h.r)
		}
		c.free = append(c.free, h)
	}
	c.queue = c.queue[:copy(c.queue, c.queue[n:])]
}

// Pending returns how many events are held.
func (c *Correlator) Pending() int { return c.live }

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
