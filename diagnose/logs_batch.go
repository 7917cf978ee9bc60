package diagnose

import (
	"errors"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rstscope/rstscope/applog"
	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// The batched join (JoinAll) gives every finding the same lines Attach
// would, without looking at every line of its window. Attach visits each
// line naming either endpoint's address; with a 1 GB access log whose
// every line names the bench client, that was ~10 k lines for each of
// 6 984 resets, 8.1 of the 12.2 s of CPU joining it to the bench capture.
//
// Findings are taken in time order in batches spanning at most one window;
// the lines of a batch's span are read once and filed by what they name.
// A line's rank for a connection (matchRank) then follows from the list it
// is on: its client's ip:port, the connection's a->b pair and proxies'
// session lines within sessionSlack are few and all looked at; the server's
// ip:port (rankServer), a bare address of an endpoint (rankAddress, kept
// apart by the addresses the line's ports name, which exclude it when they
// are an endpoint's) and lines naming nothing (rankTime) are walked nearest
// first, with and without signatures apart, and a walk stops at MaxLines
// lines: the rest of its list ranks below them. Every line looked at is
// judged by Attach's own rules (judge), so the two agree by construction;
// TestJoinAllAgreesWithAttach checks it on a log made to tie and crowd.

// batchLine is a line of a batch's span.
type batchLine struct {
	l    *applog.Line
	ns   int64
	sigs []*cause.Signature
	// state is the signatures of a haproxy line's state alone (a session
	// join), looked up once: every finding within 50 ms of a session line
	// asks for them.
	state   []*cause.Signature
	stateOK bool
}

// sigSplit holds a list's lines without ([0]) and with ([1]) signatures,
// each in order of time, then of reading.
type sigSplit [2][]int32

// lineBatch files the lines of one batch's span.
type lineBatch struct {
	lines  []batchLine
	byPort map[netip.AddrPort]*sigSplit // lines without a->b, by each ip:port they name
	byConn map[[2]netip.AddrPort][]int32
	// byIP: lines without a->b naming a bare address, by that address and
	// then by the addresses their ports name (joined as a key).
	byIP  map[netip.Addr]map[string]*sigSplit
	anon  []int32 // lines naming no address, with a signature
	proxy []int32 // haproxy session lines
	stamp []uint32
	epoch uint32
}

func pairKey(a, b netip.AddrPort) [2]netip.AddrPort {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

func unmapPort(p netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(p.Addr().Unmap(), p.Port())
}

func (j *LogJoiner) buildBatch(lines []*applog.Line) *lineBatch {
	b := &lineBatch{
		lines:  make([]batchLine, len(lines)),
		byPort: map[netip.AddrPort]*sigSplit{},
		byConn: map[[2]netip.AddrPort][]int32{},
		byIP:   map[netip.Addr]map[string]*sigSplit{},
		stamp:  make([]uint32, len(lines)),
	}
	for i, l := range lines {
		b.lines[i] = batchLine{l: l, ns: l.Time.UnixNano(), sigs: j.signatures(l)}
	}
	// Ids in order of time, then of reading: every list filled from it is
	// in the order its walk needs.
	order := make([]int32, len(lines))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(x, y int32) int { return cmpInt64(b.lines[x].ns, b.lines[y].ns) })
	var seen []netip.AddrPort
	var paddrs []string
	for _, id := range order {
		bl := &b.lines[id]
		l := bl.l
		s := 0
		if len(bl.sigs) > 0 {
			s = 1
		}
		if l.HAProxyState != "" {
			b.proxy = append(b.proxy, id)
		}
		if len(l.Ports) == 0 && len(l.IPs) == 0 {
			if s == 1 {
				b.anon = append(b.anon, id)
			}
			continue
		}
		if len(l.Conns) > 0 {
			var keys [][2]netip.AddrPort
			for _, t := range l.Conns {
				k := pairKey(unmapPort(t[0]), unmapPort(t[1]))
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
					b.byConn[k] = append(b.byConn[k], id)
				}
			}
			continue
		}
		seen, paddrs = seen[:0], paddrs[:0]
		for _, p := range l.Ports {
			p = unmapPort(p)
			if slices.Contains(seen, p) {
				continue
			}
			seen = append(seen, p)
			sp := b.byPort[p]
			if sp == nil {
				sp = &sigSplit{}
				b.byPort[p] = sp
			}
			sp[s] = append(sp[s], id)
			if a := p.Addr().String(); !slices.Contains(paddrs, a) {
				paddrs = append(paddrs, a)
			}
		}
		if len(l.IPs) == 0 {
			continue
		}
		slices.Sort(paddrs)
		group := strings.Join(paddrs, " ")
		var ips []netip.Addr
		for _, a := range l.IPs {
			a = a.Unmap()
			if slices.Contains(ips, a) {
				continue
			}
			ips = append(ips, a)
			g := b.byIP[a]
			if g == nil {
				g = map[string]*sigSplit{}
				b.byIP[a] = g
			}
			sp := g[group]
			if sp == nil {
				sp = &sigSplit{}
				g[group] = sp
			}
			sp[s] = append(sp[s], id)
		}
	}
	return b
}

// names says l names a (as Set.Near's lists do: any ip:port or bare
// address, unmapped).
func names(l *applog.Line, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l.Ports {
		if p.Addr().Unmap() == a {
			return true
		}
	}
	for _, x := range l.IPs {
		if x.Unmap() == a {
			return true
		}
	}
	return false
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// judge is Attach's rule for one line and one finding: whether the line
// joins and as what.
func judge(bl *batchLine, dt time.Duration, f *report.Finding, client, server netip.AddrPort) (candidate, bool) {
	l := bl.l
	rank, ok := matchRank(l, client, server)
	var sigs []*cause.Signature
	switch {
	case ok:
		sigs = bl.sigs
	case l.HAProxyState != "" && dt <= sessionSlack:
		if !bl.stateOK {
			bl.state, bl.stateOK = cause.MatchLog(cause.LogFacts{HAProxyState: l.HAProxyState}), true
		}
		sigs = bl.state
	}
	if !ok {
		if !sessionSide(sigs, f) || dt > sessionSlack {
			return candidate{}, false
		}
		rank = rankSession
	}
	if rank == rankTime && len(sigs) == 0 {
		return candidate{}, false
	}
	return candidate{l: *l, rank: rank, sigs: sigs, dt: dt}, true
}

// pick chooses the lines of b joining f, best first.
func (j *LogJoiner) pick(b *lineBatch, f *report.Finding, off time.Duration) []candidate {
	client, _ := netip.ParseAddrPort(f.Client)
	server, _ := netip.ParseAddrPort(f.Server)
	at := f.Time.Add(off).UnixNano()
	w := int64(j.opts.Window)
	n := j.opts.MaxLines
	b.epoch++
	if b.epoch == 0 {
		clear(b.stamp)
		b.epoch = 1
	}
	type cand struct {
		c  candidate
		id int32
	}
	var pool []cand
	look := func(id int32, member bool) bool {
		if b.stamp[id] == b.epoch {
			return false
		}
		b.stamp[id] = b.epoch
		bl := &b.lines[id]
		d := bl.ns - at
		if d < 0 {
			d = -d
		}
		if d > w || !member {
			return false
		}
		c, ok := judge(bl, time.Duration(d), f, client, server)
		if ok {
			pool = append(pool, cand{c, id})
		}
		return ok
	}
	member := func(id int32) bool {
		l := b.lines[id].l
		return l.HAProxyState != "" || len(l.Ports) == 0 && len(l.IPs) == 0 || names(l, client.Addr()) || names(l, server.Addr())
	}
	// The few: lines naming the client's ip:port or the connection's pair,
	// and proxies' session lines near enough to join another connection.
	if sp := b.byPort[client]; sp != nil {
		for _, ids := range sp {
			for _, id := range ids {
				look(id, true)
			}
		}
	}
	for _, id := range b.byConn[pairKey(client, server)] {
		look(id, member(id))
	}
	lo := sort.Search(len(b.proxy), func(i int) bool { return b.lines[b.proxy[i]].ns >= at-int64(sessionSlack) })
	for _, id := range b.proxy[lo:] {
		if b.lines[id].ns > at+int64(sessionSlack) {
			break
		}
		look(id, true)
	}
	// The many, walked nearest first: a list stops at n lines joined with
	// the rank and signature it stands for, which outrank its farther ones.
	beaten := func(rank int, sig bool) bool {
		k := 0
		for _, p := range pool {
			if p.c.rank > rank || p.c.rank == rank && !sig && len(p.c.sigs) > 0 {
				k++
			}
		}
		return k >= n
	}
	walk := func(ids []int32, rank int, sig bool) {
		if len(ids) == 0 || beaten(rank, sig) {
			return
		}
		got := 0
		b.nearest(ids, at, w, func(id int32) bool {
			if look(id, true) {
				if c := &pool[len(pool)-1].c; c.rank == rank && (len(c.sigs) > 0) == sig {
					got++
				}
			}
			return got >= n
		})
	}
	var groups []*sigSplit
	for _, a := range []netip.Addr{client.Addr(), server.Addr()} {
		if !a.IsValid() {
			continue
		}
		for key, sp := range b.byIP[a.Unmap()] {
			// Ports naming an endpoint's address exclude the line
			// (another connection), or name the connection itself (on
			// its client's or server's list).
			excluded := false
			for _, pa := range strings.Fields(key) {
				excluded = excluded || pa == client.Addr().String() || pa == server.Addr().String()
			}
			if !excluded {
				groups = append(groups, sp)
			}
		}
	}
	for s := 1; s >= 0; s-- {
		if sp := b.byPort[server]; sp != nil && server != client {
			walk(sp[s], rankServer, s == 1)
		}
	}
	for s := 1; s >= 0; s-- {
		for _, sp := range groups {
			walk(sp[s], rankAddress, s == 1)
		}
	}
	walk(b.anon, rankTime, true)

	slices.SortStableFunc(pool, func(x, y cand) int {
		a, c := &x.c, &y.c
		switch {
		case a.rank != c.rank:
			return c.rank - a.rank
		case (len(a.sigs) > 0) != (len(c.sigs) > 0):
			if len(a.sigs) > 0 {
				return -1
			}
			return 1
		case a.dt != c.dt:
			if a.dt < c.dt {
				return -1
			}
			return 1
		}
		return int(x.id) - int(y.id)
	})
	best := make([]candidate, 0, min(n, len(pool)))
	for _, p := range pool[:min(n, len(pool))] {
		best = append(best, p.c)
	}
	return best
}

// nearest calls fn for the ids of list (in order of time, then of
// reading) within w of at, nearest first and, at equal distance, in order
// of reading, until fn returns true.
func (b *lineBatch) nearest(list []int32, at, w int64, fn func(int32) bool) {
	r := sort.Search(len(list), func(i int) bool { return b.lines[list[i]].ns >= at })
	l := r - 1
	var left, right []int32
	for {
		d := int64(-1)
		if l >= 0 {
			d = at - b.lines[list[l]].ns
		}
		if r < len(list) {
			if dr := b.lines[list[r]].ns - at; d < 0 || dr < d {
				d = dr
			}
		}
		if d < 0 || d > w {
			return
		}
		left, right = left[:0], right[:0]
		for l >= 0 && b.lines[list[l]].ns == at-d {
			left = append(left, list[l])
			l--
		}
		for r < len(list) && b.lines[list[r]].ns == at+d {
			right = append(right, list[r])
			r++
		}
		slices.Reverse(left)
		// Merge the two runs (each in order of reading).
		for len(left) > 0 || len(right) > 0 {
			var id int32
			if len(right) == 0 || len(left) > 0 && left[0] < right[0] {
				id, left = left[0], left[1:]
			} else {
				id, right = right[0], right[1:]
			}
			if fn(id) {
				return
			}
		}
	}
}

// joinBatches attaches lines to fs (in order of time) a batch at a time,
// batches on every core: each finding's lines depend on it and the log
// alone, so the result is the same in any order.
func (j *LogJoiner) joinBatches(fs []report.Finding, order []int) error {
	off, _ := j.Offset()
	w := j.opts.Window
	type span struct{ k, e int }
	var spans []span
	for k := 0; k < len(order); {
		first := fs[order[k]].Time.Add(off)
		e := k + 1
		for e < len(order) && fs[order[e]].Time.Add(off).Sub(first) <= w {
			e++
		}
		spans = append(spans, span{k, e})
		k = e
	}
	next := make(chan span)
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for n := range errs {
		wg.Go(func() {
			var lines []*applog.Line
			for sp := range next {
				if errs[n] != nil {
					continue
				}
				first, last := fs[order[sp.k]].Time.Add(off), fs[order[sp.e-1]].Time.Add(off)
				lines = lines[:0]
				if err := j.set.Lines(first.Add(-w), last.Add(w), func(l *applog.Line) { lines = append(lines, l) }); err != nil {
					errs[n] = err
					continue
				}
				b := j.buildBatch(lines)
				for _, i := range order[sp.k:sp.e] {
					j.apply(&fs[i], j.pick(b, &fs[i], off))
				}
			}
		})
	}
	for _, sp := range spans {
		next <- sp
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
