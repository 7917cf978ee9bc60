package host

import (
	"fmt"

	"github.com/rstscope/rstscope/cause"
)

// conntrackNames are read only when the nf_conntrack module is loaded; with
// it unloaded the files are absent and there is no table to fill or forget.
var conntrackNames = []string{
	"net.netfilter.nf_conntrack_count",
	"net.netfilter.nf_conntrack_max",
	"net.netfilter.nf_conntrack_tcp_timeout_established",
}

// readConntrack reads the conntrack sysctls; absent files are left out
// silently, other failures are listed in the report.
func readConntrack(root Root, rep *Report) Sysctls {
	out := Sysctls{}
	for _, n := range conntrackNames {
		p := sysctlPath(n)
		b, err := root.ReadFile(p)
		if absent(err) {
			continue
		}
		if err == nil {
			var v []int64
			if v, err = parseSysctl(b); err == nil {
				out[n] = v
				continue
			}
		}
		rep.unreadable("conntrack "+n, p, shortErr(err))
	}
	return out
}

// auditConntrack judges table fill (a full table drops new flows, and rules
// matching ct state invalid then reject what it forgot) and the established
// timeout against the keepalive time: conntrack forgetting an idle flow
// before the first keepalive is the classic idle-timeout reset.
func auditConntrack(ct Sysctls, s Sysctls) []Finding {
	var out []Finding
	count, okc := ct.Get("net.netfilter.nf_conntrack_count")
	max, okm := ct.Get("net.netfilter.nf_conntrack_max")
	if okc && okm && max > 0 {
		f := Finding{
			ID:       "conntrack.count",
			Cause:    cause.ResourceExhaustion,
			Summary:  fmt.Sprintf("conntrack holds %d of %d entries (%d%%)", count, max, count*100/max),
			Evidence: []string{fmt.Sprintf("nf_conntrack_count = %d, nf_conntrack_max = %d", count, max)},
		}
		switch {
		case count*10 >= max*9:
			f.Severity = Critical
		case count*4 >= max*3:
			f.Severity = Warning
		}
		if f.Severity > Info {
			f.Summary += ": a full table drops new connections (\"nf_conntrack: table full\")"
			f.Advice = []string{fmt.Sprintf("sysctl -w net.netfilter.nf_conntrack_max=%d, or exempt busy flows with notrack", max*2)}
		}
		out = append(out, f)
	}
	est, oke := ct.Get("net.netfilter.nf_conntrack_tcp_timeout_established")
	if oke {
		f := Finding{
			ID:       "conntrack.tcp_timeout_established",
			Cause:    cause.IdleTimeout,
			Summary:  fmt.Sprintf("net.netfilter.nf_conntrack_tcp_timeout_established = %d", est),
			Evidence: []string{fmt.Sprintf("nf_conntrack_tcp_timeout_established = %d s", est)},
		}
		if ka, ok := s.Get("net.ipv4.tcp_keepalive_time"); ok {
			f.Evidence = append(f.Evidence, fmt.Sprintf("net.ipv4.tcp_keepalive_time = %d s", ka))
			if est < ka {
				f.Severity = Warning
				f.Summary += fmt.Sprintf(": conntrack forgets an idle connection after %d s, before the first keepalive at %d s; its next segment is invalid and is dropped or reset", est, ka)
				f.Advice = []string{fmt.Sprintf("sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=%d, or lower net.ipv4.tcp_keepalive_time below %d", ka+ka/2, est)}
			}
		}
		out = append(out, f)
	}
	return out
}
