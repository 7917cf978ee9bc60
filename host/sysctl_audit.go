package host

import (
	"fmt"
	"strings"

	"github.com/rstscope/rstscope/cause"
)

// verdict is one sysctl's judgement: how risky, why, and what to set.
type verdict struct {
	sev     Severity
	why     string
	suggest string // the value to set; empty when the value is fine
}

// sysctlRule judges one parameter. facts carries the other sysctls and
// /proc/net/sockstat so a rule can weigh a limit against current use.
type sysctlRule struct {
	name  string
	cause cause.ID
	judge func(v []int64, s Sysctls, sockstat map[string]int64) verdict
}

var fine = verdict{sev: Info}

// sysctlRules hold the thresholds; the why strings cite the kernel path that
// sends the reset, since that is what an operator has to believe.
var sysctlRules = []sysctlRule{
	{"net.ipv4.tcp_abort_on_overflow", cause.AcceptQueueOverflow, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] != 0 {
			return verdict{Warning, "a full accept queue answers the handshake's final ACK with a reset (tcp_check_req) instead of dropping it and letting the client retry", "0"}
		}
		return fine
	}},
	{"net.core.somaxconn", cause.AcceptQueueOverflow, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] < 1024 {
			return verdict{Warning, "listen() backlogs are capped at this value, so bursts overflow small accept queues", "4096"}
		}
		return fine
	}},
	{"net.ipv4.tcp_max_syn_backlog", cause.AcceptQueueOverflow, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] < 256 {
			return verdict{Warning, "a small SYN queue drops handshakes under load unless SYN cookies take over", "1024"}
		}
		return fine
	}},
	{"net.ipv4.tcp_syncookies", cause.AcceptQueueOverflow, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] == 0 {
			return verdict{Warning, "without SYN cookies a full SYN queue drops new handshakes, and with tcp_abort_on_overflow=1 overflow turns into resets", "1"}
		}
		return fine
	}},
	{"net.ipv4.tcp_keepalive_time", cause.IdleTimeout, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] > 350 {
			return verdict{Warning, fmt.Sprintf("first keepalive after %d s of silence, later than common NAT and load-balancer idle timers (AWS NLB 350 s, Azure LB 240 s), which then drop or reset idle connections", v[0]), "300"}
		}
		return fine
	}},
	{"net.ipv4.tcp_keepalive_intvl", cause.IdleTimeout, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] < 5 {
			return verdict{Warning, "keepalive probes this close together abort connections (TCP_KEEPALIVE_TIMEOUT) after a short loss burst", "75"}
		}
		return fine
	}},
	{"net.ipv4.tcp_keepalive_probes", cause.IdleTimeout, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] < 3 {
			return verdict{Warning, "so few unanswered keepalive probes abort a connection (TCP_KEEPALIVE_TIMEOUT) on a brief outage", "9"}
		}
		return fine
	}},
	{"net.ipv4.tcp_rfc1337", cause.TimeWaitAssassination, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] == 0 {
			return verdict{Warning, "a stray RST ends a TIME-WAIT socket early (RFC 1337 hazard 1), so an old duplicate can then reach a new connection on the same 4-tuple", "1"}
		}
		return fine
	}},
	{"net.ipv4.tcp_fin_timeout", cause.DataAfterClose, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		switch {
		case v[0] < 15:
			return verdict{Warning, fmt.Sprintf("orphaned FIN-WAIT-2 sockets vanish after %d s, so a slow peer's late data is answered with a reset", v[0]), "60"}
		case v[0] > 120:
			return verdict{Warning, fmt.Sprintf("orphaned FIN-WAIT-2 sockets linger %d s, filling the orphan limit whose overflow resets connections", v[0]), "60"}
		}
		return fine
	}},
	{"net.ipv4.tcp_tw_reuse", cause.SYNConflict, func(v []int64, _ Sysctls, _ map[string]int64) verdict {
		if v[0] == 1 {
			return verdict{Warning, "outgoing connections reuse TIME-WAIT 4-tuples for every destination; a peer or NAT that still holds the old connection answers the SYN with a challenge ACK", "2"}
		}
		return fine
	}},
	{"net.ipv4.tcp_max_orphans", cause.ResourceExhaustion, func(v []int64, _ Sysctls, st map[string]int64) verdict {
		n, ok := st["TCP.orphan"]
		if !ok || v[0] <= 0 {
			return fine
		}
		// tcp_out_of_resources resets orphans past the limit ("too many
		// orphaned sockets"); the kernel also weighs them by 2–4× under
		// memory pressure, hence warning at half.
		switch {
		case n*10 >= v[0]*9:
			return verdict{Critical, fmt.Sprintf("%d orphaned sockets against a limit of %d; past it the kernel resets orphans", n, v[0]), fmt.Sprint(v[0] * 2)}
		case n*2 >= v[0]:
			return verdict{Warning, fmt.Sprintf("%d orphaned sockets against a limit of %d", n, v[0]), fmt.Sprint(v[0] * 2)}
		}
		return fine
	}},
	{"net.ipv4.tcp_mem", cause.ResourceExhaustion, func(v []int64, _ Sysctls, st map[string]int64) verdict {
		n, ok := st["TCP.mem"]
		if !ok || len(v) < 3 {
			return fine
		}
		switch {
		case n >= v[2]:
			return verdict{Critical, fmt.Sprintf("TCP uses %d pages, at or past the hard limit %d; the kernel aborts connections (TCPAbortOnMemory)", n, v[2]), fmt.Sprintf("%d %d %d", v[0]*2, v[1]*2, v[2]*2)}
		case n >= v[1]:
			return verdict{Warning, fmt.Sprintf("TCP uses %d pages, past the pressure threshold %d", n, v[1]), fmt.Sprintf("%d %d %d", v[0]*2, v[1]*2, v[2]*2)}
		}
		return fine
	}},
}

// auditSysctls gives every readable parameter one finding: info with its
// value when fine, warning or critical with a suggested value when risky.
func auditSysctls(s Sysctls, sockstat map[string]int64) []Finding {
	var out []Finding
	for _, r := range sysctlRules {
		v, ok := s[r.name]
		if !ok || len(v) == 0 {
			continue
		}
		short := r.name[strings.LastIndexByte(r.name, '.')+1:]
		val := joinInts(v)
		vd := r.judge(v, s, sockstat)
		f := Finding{
			ID:       "sysctl." + short,
			Severity: vd.sev,
			Cause:    r.cause,
			Summary:  fmt.Sprintf("%s = %s", r.name, val),
			Evidence: []string{fmt.Sprintf("%s = %s", sysctlPath(r.name), val)},
		}
		if vd.suggest != "" {
			f.Summary += ": " + vd.why
			f.Advice = []string{
				fmt.Sprintf("sysctl -w %s=%s, and persist it in /etc/sysctl.d/", r.name, shellQuote(vd.suggest)),
			}
		}
		out = append(out, f)
	}
	return out
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// shellQuote quotes multi-value settings such as tcp_mem for a shell.
func shellQuote(v string) string {
	if strings.Contains(v, " ") {
		return "'" + v + "'"
	}
	return v
}
