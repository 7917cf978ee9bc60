package render

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// resetGroup is resets a person would act on together: one cause, one
// sender, one verdict on benignity, and one server, one server host or a
// set of servers.
type resetGroup struct {
	cause    cause.ID
	sender   cause.Sender
	benign   bool
	findings []*report.Finding // in the report's order (file, frame)
	where    string            // the servers, named once (see scope)
}

// Splitting a (cause, sender) bucket: a server endpoint, then a server
// host, gets a group of its own when it holds at least this share of the
// bucket and at least two resets; at most maxSplit of each. What is left is
// one group across the remaining servers. A tenth keeps a SYN scan over a
// thousand closed ports one group while a listener that takes a third of a
// bucket's resets stands out; three of each keeps a bucket to seven groups.
const (
	splitShare = 10 // percent
	maxSplit   = 3
)

// groupFindings groups the report's findings and orders the groups: those
// that deserve attention first, then largest first.
func groupFindings(r *report.Report) []*resetGroup {
	type bucketKey struct {
		cause  cause.ID
		sender cause.Sender
		benign bool
	}
	buckets := map[bucketKey][]*report.Finding{}
	var order []bucketKey
	for i := range r.Findings {
		f := &r.Findings[i]
		k := bucketKey{f.Cause, f.Sender, f.Benign}
		if _, ok := buckets[k]; !ok {
			order = append(order, k)
		}
		buckets[k] = append(buckets[k], f)
	}
	var groups []*resetGroup
	for _, k := range order {
		for _, fs := range splitByServer(buckets[k]) {
			g := &resetGroup{cause: k.cause, sender: k.sender, benign: k.benign, findings: fs}
			g.where = g.scope()
			groups = append(groups, g)
		}
	}
	slices.SortStableFunc(groups, func(a, b *resetGroup) int {
		if a.benign != b.benign {
			if a.benign {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(len(b.findings), len(a.findings)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.cause, b.cause); c != 0 {
			return c
		}
		if c := cmp.Compare(a.sender, b.sender); c != 0 {
			return c
		}
		return cmp.Compare(a.where, b.where)
	})
	return groups
}

// splitByServer splits one bucket: big server endpoints, then big server
// hosts, then the rest (see splitShare).
func splitByServer(fs []*report.Finding) [][]*report.Finding {
	min := max(2, (len(fs)*splitShare+99)/100)
	var out [][]*report.Finding
	rest := fs
	for _, key := range []func(*report.Finding) string{serverEndpoint, serverHost} {
		counts := map[string]int{}
		for _, f := range rest {
			counts[key(f)]++
		}
		var big []string
		for k, n := range counts {
			if n >= min {
				big = append(big, k)
			}
		}
		slices.SortFunc(big, func(a, b string) int {
			if c := cmp.Compare(counts[b], counts[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		if len(big) > maxSplit {
			big = big[:maxSplit]
		}
		if len(big) == 0 {
			continue
		}
		own := map[string][]*report.Finding{}
		var left []*report.Finding
		for _, f := range rest {
			if k := key(f); slices.Contains(big, k) {
				own[k] = append(own[k], f)
			} else {
				left = append(left, f)
			}
		}
		for _, k := range big {
			out = append(out, own[k])
		}
		rest = left
	}
	if len(rest) > 0 {
		out = append(out, rest)
	}
	return out
}

func serverEndpoint(f *report.Finding) string { return f.Server }

func serverHost(f *report.Finding) string {
	if ap, err := netip.ParseAddrPort(f.Server); err == nil {
		return ap.Addr().String()
	}
	return f.Server
}

// scope names the servers of a group: one endpoint, one host and its port
// count, or the number of servers.
func (g *resetGroup) scope() string {
	endpoints, hosts := map[string]bool{}, map[string]bool{}
	for _, f := range g.findings {
		endpoints[f.Server] = true
		hosts[serverHost(f)] = true
	}
	switch {
	case len(endpoints) == 1:
		return g.findings[0].Server
	case len(hosts) == 1:
		return serverHost(g.findings[0]) + " (" + count(len(endpoints)) + " ports)"
	}
	return count(len(endpoints)) + " servers"
}

// representative is the finding whose evidence speaks for the group: the
// most confident, the earliest of those.
func (g *resetGroup) representative() *report.Finding {
	best := g.findings[0]
	for _, f := range g.findings[1:] {
		if f.Confidence > best.Confidence {
			best = f
		}
	}
	return best
}

// examples are up to two findings other than rep: the group's first and
// last, or the nearest others when rep is one of them.
func (g *resetGroup) examples(rep *report.Finding) []*report.Finding {
	var out []*report.Finding
	for _, i := range []int{0, len(g.findings) - 1, 1, len(g.findings) - 2} {
		if len(out) == 2 {
			break
		}
		if i < 0 || i >= len(g.findings) {
			continue
		}
		if f := g.findings[i]; f != rep && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *report.Finding) int { return cmp.Compare(a.Frame, b.Frame) })
	return out
}

// count writes n with thousands separators: 39,364.
func count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
