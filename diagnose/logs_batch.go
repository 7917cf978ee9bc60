package diagnose

import (
	"errors"
	"net/netip"
	"runtime"
	"slices"
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
		// Not through the memo: a batch's lines are distinct, and looking
		// each up and storing it (a map of up to 32 k lines) cost more
		// than matching again the few lines two batches share.
		b.lines[i] = batchLine{l: l, ns: l.Time.UnixNano(), sigs: cause.MatchLog(cause.LogFacts{Text: l.Text, HAProxyState: l.HAProxyState, EnvoyFlags: l.EnvoyFlags})}
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

// batchSpan is how many windows of findings a batch holds. A batch reads
// its findings' span and a window either side, so each line is filed once
// per batch that reads it: batches of one window filed every line three
// times, and filing was a third of the joins' CPU on the bench (1 GB log,
// 6 875 resets in 12.5 s); four windows file it 1.5 times.
const batchSpan = 4

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
		for e < len(order) && fs[order[e]].Time.Add(off).Sub(first) <= batchSpan*w {
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
				var err error
				if lines, err = j.joinSpan(fs, order[sp.k:sp.e], off, lines); err != nil {
					errs[n] = err
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

// joinSpan attaches lines to the findings fs[i], i in idx (in order of
// time), with one read of their span's lines plus a window either side;
// lines is scratch space, returned for reuse.
func (j *LogJoiner) joinSpan(fs []report.Finding, idx []int, off time.Duration, lines []*applog.Line) ([]*applog.Line, error) {
	w := j.opts.Window
	first, last := fs[idx[0]].Time.Add(off), fs[idx[len(idx)-1]].Time.Add(off)
	lines = lines[:0]
	if err := j.set.Lines(first.Add(-w), last.Add(w), func(l *applog.Line) { lines = append(lines, l) }); err != nil {
		return lines, err
	}
	b := j.buildBatch(lines)
	for _, i := range idx {
		j.apply(&fs[i], j.pick(b, &fs[i], off))
	}
	return lines, nil
}
