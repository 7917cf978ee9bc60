package host

import (
	"fmt"
	"slices"
	"time"

	"github.com/rstscope/rstscope/cause"
)

// counterSpec names a counter, the cause a rise points to, and whether a
// rise is an alarm (connections are being dropped or reset for want of a
// resource) rather than the steady background every busy host has.
type counterSpec struct {
	key   string
	cause cause.ID
	alarm bool
	means string
}

// counterSpecs follow the kernel's own increments (tcp_check_req,
// tcp_disconnect, tcp_out_of_resources, tcp_write_timeout, ...).
var counterSpecs = []counterSpec{
	{"TcpExt.ListenOverflows", cause.AcceptQueueOverflow, true, "handshakes completed while the accept queue was full"},
	{"TcpExt.ListenDrops", cause.AcceptQueueOverflow, true, "SYNs or final ACKs a listener dropped (includes overflows)"},
	{"TcpExt.TCPAbortOnData", cause.DataAfterClose, false, "resets for data arriving after the application closed"},
	{"TcpExt.TCPAbortOnClose", cause.UnreadDataClose, false, "resets for closing with unread data"},
	{"TcpExt.TCPAbortOnMemory", cause.ResourceExhaustion, true, "connections aborted under memory pressure or the orphan limit"},
	{"TcpExt.TCPAbortOnTimeout", cause.IdleTimeout, false, "connections aborted after retransmission or keepalive timeouts"},
	{"TcpExt.TCPAbortOnLinger", cause.ApplicationAbort, false, "resets when a FIN-WAIT-2 linger time ran out"},
	{"TcpExt.TCPAbortFailed", cause.ResourceExhaustion, true, "resets the kernel could not allocate"},
	{"TcpExt.TCPChallengeACK", cause.SYNConflict, false, "challenge ACKs (RFC 5961) for a SYN or RST on a live connection"},
	{"Tcp.OutRsts", cause.Unknown, false, "segments sent with RST"},
	{"Tcp.EstabResets", cause.Unknown, false, "connections reset from ESTABLISHED or CLOSE-WAIT"},
	{"Tcp.AttemptFails", cause.ClosedPort, false, "connection attempts that failed, mostly a reset answering a SYN"},
}

// auditCounters turns counters into findings. With interval 0 it judges the
// since-boot totals in before; otherwise the rise to after over interval,
// and adds one rate.<cause> finding per cause summing its counters.
func auditCounters(before, after Counters, interval time.Duration) []Finding {
	var out []Finding
	type rate struct {
		perSec   float64
		evidence []string
	}
	rates := map[cause.ID]*rate{}
	for _, s := range counterSpecs {
		f := Finding{ID: "counter." + s.key, Cause: s.cause}
		v, ok := before[s.key]
		if ok && interval > 0 {
			v2, ok2 := after[s.key]
			if !ok2 {
				ok = false
			} else if v2 < v {
				v2 = v // a counter that wrapped or reset: count no rise
			}
			if ok {
				d := v2 - v
				ps := float64(d) / interval.Seconds()
				f.Summary = fmt.Sprintf("%s: +%d in %s (%.2f/s), %s", s.key, d, interval, ps, s.means)
				f.Evidence = []string{fmt.Sprintf("%s %d → %d", s.key, v, v2)}
				if s.alarm && d > 0 {
					f.Severity = Warning
				}
				// OutRsts and EstabResets count resets of every cause;
				// summing them into "unknown" would claim otherwise.
				if s.cause != cause.Unknown {
					r := rates[s.cause]
					if r == nil {
						r = &rate{}
						rates[s.cause] = r
					}
					r.perSec += ps
					r.evidence = append(r.evidence, fmt.Sprintf("%s %.2f/s", s.key, ps))
				}
			}
		} else if ok {
			f.Summary = fmt.Sprintf("%s = %d since boot: %s", s.key, v, s.means)
			f.Evidence = []string{fmt.Sprintf("%s = %d", s.key, v)}
			if s.alarm && v > 0 {
				f.Severity = Warning
			}
		}
		if !ok {
			// node_exporter's habit: a counter the kernel does not export is
			// reported as absent, never as a zero that looks healthy.
			f.Summary = s.key + " absent: this kernel does not export it"
		}
		if f.Severity > Info {
			f.Advice = counterAdvice(s.cause)
		}
		out = append(out, f)
	}
	causes := make([]cause.ID, 0, len(rates))
	for c := range rates {
		causes = append(causes, c)
	}
	slices.Sort(causes)
	for _, c := range causes {
		r := rates[c]
		out = append(out, Finding{
			ID:       "rate." + string(c),
			Cause:    c,
			Summary:  fmt.Sprintf("%s: %.2f/s over %s", c, r.perSec, interval),
			Evidence: r.evidence,
		})
	}
	return out
}

func counterAdvice(c cause.ID) []string {
	switch c {
	case cause.AcceptQueueOverflow:
		return []string{
			"find the listener with ss -lnt (Recv-Q near Send-Q) and make its process accept faster",
			"raise the listen() backlog and net.core.somaxconn",
		}
	case cause.ResourceExhaustion:
		return []string{
			"compare /proc/net/sockstat with net.ipv4.tcp_mem and net.ipv4.tcp_max_orphans",
			"look for applications that close sockets with unsent data or never close them",
		}
	}
	return nil
}
