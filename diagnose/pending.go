package diagnose

import (
	"sort"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// pendingReset is a reset whose verdict waits for look-ahead. A reset on
// a Conn carries its context (cx) from the start; a reset the table took
// compactly (flow.Table.Answer: a closed port's RST+ACK, a spoofed
// source's reset to SYN cookies) stays in the table's slabs, and carries
// only what the table does not keep, until its connection is seen again
// (observe) or its verdict is made (explain): a tenth of the bytes. In a
// closed-port flood nearly every reset is of that kind: 10 M SYNs, 10 %
// answered by RST+ACK, held 40 k resets of about 2 KB each in their 2 s of
// look-ahead.
type pendingReset struct {
	id    uint64 // the connection's ID
	frame uint64
	dir   flow.Dir
	conn  *flow.Conn // nil while the connection is compact, and once it left the table
	ref   flow.Ref   // the compact connection, while live
	live  bool
	done  bool
	// lookDone says the look-ahead ran its full course (cause.Context's
	// LookAheadDone).
	lookDone bool
	// verdict is filled in once this reset is explained; prev is the
	// verdict of the connection's previous reset from the same side, when
	// that one was still pending as this one arrived. They are boxes of
	// their own because pendingResets are reused once emitted.
	verdict *verdictBox
	prev    *verdictBox
	// deadline is when, in capture time (Unix ns), the look-ahead ends.
	deadline int64
	// burst is the run of resets from the same address:port this one is in.
	burst *burst
	cx    *resetContext
	// A compact reset's time, sender host (shared, see hostSnapshot), and
	// the packet's fields the table does not keep (flow.Table.Before).
	time      time.Time
	host      *cause.Host
	dstMAC    [6]byte
	link      packet.LinkType
	vlans     uint8
	truncated bool
}

// resetContext is a reset's classifier input while it waits.
type resetContext struct {
	ctx cause.Context
	// payload keeps the first bytes of the reset's payload (some devices
	// write the reason there, e.g. F5 BIG-IP); ctx.RST.Payload points here.
	payload [64]byte
}

type verdictBox struct {
	v   cause.Earlier
	set bool
}

// pendingSet holds resets in arrival order and by connection.
type pendingSet struct {
	// free and freeCx hold emitted resets' parts for reuse: a context
	// carries a copy of its connection (over a kilobyte), and allocating
	// one per reset was a tenth of classification's cost on
	// bench/out/traffic.pcap.
	free    []*pendingReset
	freeCx  []*resetContext
	scratch *resetContext // the context of a compact reset being explained
	// lastHost is the sender host snapshot compact resets share (hostSnapshot).
	lastHost *cause.Host
	queue    []*pendingReset
	head     int
	// compacts holds, beside queue and in the same order by frame, the
	// resets the table took compactly (see compactReset); snap and one are
	// scratch space for them.
	compacts compactQueue
	snap     senderSnap
	one      pendingReset
	// head is the oldest compact reset as due last read it, with its frame
	// and time from the table's slab: due runs for every packet, and
	// reading them back each time (a slab line the packet does not touch
	// otherwise) was a quarter of its cost. Cleared whenever a compact
	// reset leaves the queue, since its place may hold another then.
	cHead      *compactReset
	cHeadFrame uint64
	cHeadNS    int64
	byConn     map[uint64][]*pendingReset
	max        int   // look-ahead packets
	look       int64 // look-ahead time, ns
	table      *flow.Table
}

// keepFree bounds each free list.
const keepFree = 1024

func (s *pendingSet) get() *pendingReset {
	if n := len(s.free); n > 0 {
		pr := s.free[n-1]
		s.free = s.free[:n-1]
		return pr
	}
	return new(pendingReset)
}

func (s *pendingSet) getCx() *resetContext {
	if n := len(s.freeCx); n > 0 {
		cx := s.freeCx[n-1]
		s.freeCx = s.freeCx[:n-1]
		return cx
	}
	cx := new(resetContext)
	cx.ctx.After = make([]cause.Later, 0, s.max)
	return cx
}

// reset clears cx for a new reset, keeping its look-ahead's memory.
func (cx *resetContext) reset() {
	after := cx.ctx.After[:0]
	cx.ctx = cause.Context{}
	cx.ctx.After = after
}

func (a *Analyzer) newPending(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time, frame uint64) *pendingReset {
	pr := a.pending.get()
	cx := a.pending.getCx()
	cx.reset()
	*pr = pendingReset{id: c.ID, frame: frame, dir: d, conn: c, verdict: new(verdictBox), cx: cx}
	cx.ctx.Conn = *c
	cx.ctx.Dir = d
	cx.ctx.RST = *p
	n := copy(cx.payload[:], p.Payload)
	cx.ctx.RST.Payload = cx.payload[:n]
	cx.ctx.Time = ts
	pr.deadline = ts.UnixNano() + int64(a.opts.LookAheadTime)
	cx.ctx.SenderHost = a.hosts.get(p.Src)
	cx.ctx.PortLastData, cx.ctx.PortServed = a.hosts.lastServed(p.SrcAddrPort())
	pr.burst = a.hosts.reset(p.SrcAddrPort(), ts.UnixNano(), c.EstablishedTime)
	return pr
}

// newCompactPending is newPending for a reset the table took compactly
// whose time a compactReset cannot rebuild (addCompact): a time in neither
// UTC nor Local, or outside what Unix nanoseconds hold.
func (a *Analyzer) newCompactPending(ref flow.Ref, d flow.Dir, p *packet.Packet, ts time.Time, frame uint64) *pendingReset {
	pr := a.pending.get()
	// No verdict box yet: only a later reset on the connection needs one,
	// and the connection is a Conn again by then (observe).
	*pr = pendingReset{id: ref.ID(), frame: frame, dir: d, ref: ref, live: true,
		time: ts, dstMAC: p.DstMAC, link: p.Link, vlans: p.VLANs, truncated: p.Truncated}
	pr.deadline = ts.UnixNano() + int64(a.opts.LookAheadTime)
	pr.host = a.pending.hostSnapshot(a.hosts.get(p.Src))
	pr.burst = a.hosts.reset(p.SrcAddrPort(), ts.UnixNano(), time.Time{})
	return pr
}

// hostSnapshot returns a copy of h that pending resets may share: the
// last one made when it is the same. A cause.Host is 160 bytes; in a flood
// the resets come from one listener, or from addresses never seen before,
// so nearly all share one copy (each reset's own copy was over half of a
// pending reset's bytes).
func (s *pendingSet) hostSnapshot(h cause.Host) *cause.Host {
	if s.lastHost == nil || *s.lastHost != h {
		s.lastHost = &h
	}
	return s.lastHost
}

// build fills cx with the context of pr, a reset the table took
// compactly, as newPending would have made it.
func (s *pendingSet) build(pr *pendingReset, cx *resetContext) {
	cx.reset()
	ctx := &cx.ctx
	s.table.Before(pr.ref, &ctx.Conn, &ctx.RST)
	ctx.RST.DstMAC, ctx.RST.Link, ctx.RST.VLANs, ctx.RST.Truncated = pr.dstMAC, pr.link, pr.vlans, pr.truncated
	ctx.RST.Payload = cx.payload[:0]
	ctx.Dir = pr.dir
	ctx.Time = pr.time
	ctx.SenderHost = *pr.host
}

// context returns pr's context, built in the scratch one when pr is compact.
func (s *pendingSet) context(pr *pendingReset) *cause.Context {
	if pr.cx != nil {
		return &pr.cx.ctx
	}
	if s.scratch == nil {
		s.scratch = &resetContext{ctx: cause.Context{After: make([]cause.Later, 0, s.max)}}
	}
	s.build(pr, s.scratch)
	return &s.scratch.ctx
}

// add queues pr. A compact reset is not filed by connection: it is its
// connection's only reset so far, found by its frame when the connection
// is a Conn again or ends (compact); a map entry each took a quarter of a
// SYN-cookie flood's pending memory.
func (s *pendingSet) add(pr *pendingReset) {
	if pr.live {
		s.queue = append(s.queue, pr)
		return
	}
	list := s.byConn[pr.id]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].dir == pr.dir {
			pr.prev = list[i].verdict
			break
		}
	}
	s.queue = append(s.queue, pr)
	s.byConn[pr.id] = append(s.byConn[pr.id], pr)
}

// observe records a packet of a connection with resets pending. A reset
// that waited compactly gets its context now: its connection is a Conn
// again.
func (s *pendingSet) observe(c *flow.Conn, p *packet.Packet, d flow.Dir, ts time.Time) {
	pr := s.compact(c)
	if pr == nil {
		if i, j := s.findCompact(c); i >= 0 {
			pr = s.move(i, j)
		}
	}
	if pr != nil {
		pr.cx = s.getCx()
		s.build(pr, pr.cx)
		pr.conn, pr.live, pr.host = c, false, nil
		pr.verdict = new(verdictBox)
		s.byConn[c.ID] = append(s.byConn[c.ID], pr)
	}
	for _, pr := range s.byConn[c.ID] {
		if pr.done {
			continue
		}
		pr.cx.ctx.After = append(pr.cx.ctx.After, cause.LaterOf(p, d, ts))
		if len(pr.cx.ctx.After) >= s.max {
			pr.done = true
			pr.lookDone = true
		}
	}
}

// closeConn ends the look-ahead of a connection's resets: it left the table.
func (s *pendingSet) closeConn(c *flow.Conn, emit func(*pendingReset)) {
	if pr := s.compact(c); pr != nil {
		pr.done, pr.lookDone, pr.live = true, true, false
	} else if i, j := s.findCompact(c); i >= 0 {
		r := &s.compacts.chunks[i].rs[j]
		r.bits = r.bits&^crLive | crDone | crLookDone
	}
	for _, pr := range s.byConn[c.ID] {
		pr.done = true
		pr.lookDone = true
		pr.conn, pr.live = nil, false
	}
	delete(s.byConn, c.ID)
	c.Pending = 0
}

// due emits, in arrival order, the resets whose look-ahead is over: full,
// closed, or past its deadline at capture time now. A zero now emits all.
func (s *pendingSet) due(now time.Time, emit func(*pendingReset)) {
	nowNS := now.UnixNano()
	for {
		r, ch := s.compacts.peek()
		var frame uint64
		var ns int64
		switch {
		case r == nil:
		case r == s.cHead:
			frame, ns = s.cHeadFrame, s.cHeadNS
		default:
			_, frame, ns = s.table.Reset(r.slot)
			s.cHead, s.cHeadFrame, s.cHeadNS = r, frame, ns
		}
		if r != nil && (s.head == len(s.queue) || frame < s.queue[s.head].frame) {
			if !now.IsZero() && r.bits&crDone == 0 {
				if nowNS < ns+s.look {
					return
				}
				r.bits |= crLookDone
			}
			pr := &s.one
			s.unpack(pr, r, ch)
			s.compacts.pop()
			s.cHead = nil
			emit(pr)
			*pr = pendingReset{}
			continue
		}
		if s.head == len(s.queue) {
			break
		}
		pr := s.queue[s.head]
		if !now.IsZero() && !pr.done {
			if nowNS < pr.deadline {
				return
			}
			pr.lookDone = true
		}
		s.queue[s.head] = nil
		s.head++
		emit(pr)
		if pr.conn != nil || pr.live {
			s.forget(pr)
		}
		s.recycle(pr)
	}
	// Reuse the queue's memory once it has drained, or once the emitted
	// part is half of it: in a flood it never drains (there is always a
	// reset in its look-ahead), and the queue grew by a pointer for every
	// reset of the capture (80 MB for 10 M resets).
	switch {
	case s.head == len(s.queue):
		s.queue, s.head = s.queue[:0], 0
	case s.head >= 4096 && 2*s.head >= len(s.queue):
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
}

// recycleCx takes back a context the writer's goroutine is done with.
func (s *pendingSet) recycleCx(cx *resetContext) {
	if len(s.freeCx) < keepFree {
		s.freeCx = append(s.freeCx, cx)
	}
}

func (s *pendingSet) recycle(pr *pendingReset) {
	if pr.cx != nil && len(s.freeCx) < keepFree {
		s.freeCx = append(s.freeCx, pr.cx)
	}
	*pr = pendingReset{}
	if len(s.free) < keepFree {
		s.free = append(s.free, pr)
	}
}

// compact returns the reset waiting compactly on c, a connection with
// resets pending that the table held compactly until now, or nil. Such a
// connection has one reset, its latest packet, so the largest frame either
// side sent; the queue is in frame order.
func (s *pendingSet) compact(c *flow.Conn) *pendingReset {
	if len(s.byConn[c.ID]) > 0 {
		return nil // a Conn's resets, or one found before
	}
	f := max(c.Ep[0].LastFrame, c.Ep[1].LastFrame)
	q := s.queue[s.head:]
	i := sort.Search(len(q), func(i int) bool { return q[i].frame >= f })
	if i < len(q) && q[i].frame == f && q[i].id == c.ID && q[i].live {
		return q[i]
	}
	return nil
}

func (s *pendingSet) forget(pr *pendingReset) {
	if pr.live {
		pr.live = false
		return // never filed by connection
	}
	id := pr.id
	list := s.byConn[id]
	for i, x := range list {
		if x == pr {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.byConn, id)
	} else {
		s.byConn[id] = list
	}
	if pr.conn != nil && pr.conn.Pending > 0 {
		pr.conn.Pending--
	}
	pr.conn, pr.live = nil, false
}

// answer gives p, a reset or a SYN-ACK, to the table to keep compactly
// (flow.Table.Answer) and does for it what Packet does for a packet on a
// Conn; it reports whether the table took it.
func (a *Analyzer) answer(p *packet.Packet, k flow.Key, ts time.Time, frame uint64) bool {
	classify := !a.opts.NoClassify
	rst := p.Flags.Has(packet.RST)
	ref, d, ok := a.table.AnswerKey(p, k, ts, frame, p.IPLen, classify)
	if !ok {
		return false
	}
	if !classify {
		return true
	}
	if rst {
		a.stats.Resets++
		a.addCompact(ref, d, p, ts, frame)
	}
	a.flushDue(ts)
	if !rst {
		a.hosts.first(p) // a SYN-ACK is its sender's first packet on the connection
	}
	return true
}
