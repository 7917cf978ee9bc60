package diagnose

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rstscope/rstscope/applog"
	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

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
	return candidate{l: l, rank: rank, sigs: sigs, dt: dt}, true
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
		// The runs at distance d either side: list holds lines of equal
		// time in order of reading, so each run is a piece of it (copying
		// them, for the many access-log lines of one whole second, was a
		// quarter of pick's time on the bench's 1 GB log).
		l0 := l
		for l >= 0 && b.lines[list[l]].ns == at-d {
			l--
		}
		r0 := r
		for r < len(list) && b.lines[list[r]].ns == at+d {
			r++
		}
		left, right := list[l+1:l0+1], list[r0:r]
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
