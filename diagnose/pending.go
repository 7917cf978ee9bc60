package diagnose

import (
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// pendingReset is a reset whose verdict waits for look-ahead.
type pendingReset struct {
	ctx   cause.Context
	frame uint64
	conn  *flow.Conn // nil once the connection has left the table
	// payload keeps the first bytes of the reset's payload (some devices
	// write the reason there, e.g. F5 BIG-IP); ctx.RST.Payload points here.
	payload [64]byte
	done    bool
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
}

type verdictBox struct {
	v   cause.Earlier
	set bool
}

// pendingSet holds resets in arrival order and by connection.
type pendingSet struct {
	// free holds emitted resets for reuse: each carries a copy of its
	// connection (over a kilobyte), and allocating one per reset was a
	// tenth of classification's cost on bench/out/traffic.pcap.
	free   []*pendingReset
	queue  []*pendingReset
	head   int
	byConn map[uint64][]*pendingReset
	max    int // look-ahead packets
}

func (a *Analyzer) newPending(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time, frame uint64) *pendingReset {
	var pr *pendingReset
	if n := len(a.pending.free); n > 0 {
		pr = a.pending.free[n-1]
		a.pending.free = a.pending.free[:n-1]
		after := pr.ctx.After[:0]
		*pr = pendingReset{}
		pr.ctx.After = after
	} else {
		pr = &pendingReset{}
		pr.ctx.After = make([]cause.Later, 0, a.opts.LookAheadPackets)
	}
	pr.frame, pr.conn, pr.verdict = frame, c, new(verdictBox)
	pr.ctx.Conn = *c
	pr.ctx.Dir = d
	pr.ctx.RST = *p
	n := copy(pr.payload[:], p.Payload)
	pr.ctx.RST.Payload = pr.payload[:n]
	pr.ctx.Time = ts
	pr.deadline = ts.UnixNano() + int64(a.opts.LookAheadTime)
	pr.ctx.SenderHost = a.hosts.get(p.Src)
	pr.burst = a.hosts.reset(p.SrcAddrPort(), ts.UnixNano())
	return pr
}

func (s *pendingSet) add(pr *pendingReset) {
	list := s.byConn[pr.conn.ID]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].ctx.Dir == pr.ctx.Dir {
			pr.prev = list[i].verdict
			break
		}
	}
	s.queue = append(s.queue, pr)
	s.byConn[pr.conn.ID] = append(s.byConn[pr.conn.ID], pr)
}

// observe records a packet of a connection with resets pending.
func (s *pendingSet) observe(c *flow.Conn, p *packet.Packet, d flow.Dir, ts time.Time) {
	for _, pr := range s.byConn[c.ID] {
		if pr.done {
			continue
		}
		pr.ctx.After = append(pr.ctx.After, cause.LaterOf(p, d, ts))
		if len(pr.ctx.After) >= s.max {
			pr.done = true
			pr.ctx.LookAheadDone = true
		}
	}
}

// closeConn ends the look-ahead of a connection's resets: it left the table.
func (s *pendingSet) closeConn(c *flow.Conn, emit func(*pendingReset)) {
	for _, pr := range s.byConn[c.ID] {
		pr.done = true
		pr.ctx.LookAheadDone = true
		pr.conn = nil
	}
	delete(s.byConn, c.ID)
	c.Pending = 0
}

// due emits, in arrival order, the resets whose look-ahead is over: full,
// closed, or past its deadline at capture time now. A zero now emits all.
func (s *pendingSet) due(now time.Time, emit func(*pendingReset)) {
	if s.head == len(s.queue) {
		return
	}
	nowNS := now.UnixNano()
	for s.head < len(s.queue) {
		pr := s.queue[s.head]
		if !now.IsZero() && !pr.done {
			if nowNS < pr.deadline {
				return
			}
			pr.ctx.LookAheadDone = true
		}
		s.queue[s.head] = nil
		s.head++
		emit(pr)
		if pr.conn != nil {
			s.forget(pr)
		}
		if len(s.free) < 1024 {
			s.free = append(s.free, pr)
		}
	}
	// Reuse the queue's memory once it has drained.
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
	}
}

func (s *pendingSet) forget(pr *pendingReset) {
	id := pr.conn.ID
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
	if pr.conn.Pending > 0 {
		pr.conn.Pending--
	}
	pr.conn = nil
}
