package host

import (
	"fmt"

	"github.com/rstscope/rstscope/cause"
)

// auditListeners reports listeners whose accept queue is at least 80% full.
// The kernel calls a queue full when it holds more than the backlog
// (sk_acceptq_is_full), so Queue > Backlog means handshakes are being
// dropped, or reset when tcp_abort_on_overflow is 1.
func auditListeners(ls []Listener, abortOnOverflow int64, haveAbort bool) []Finding {
	var out []Finding
	for _, l := range ls {
		if !nearFull(l) {
			continue
		}
		f := Finding{
			ID:       "listen." + l.Addr.String(),
			Severity: Warning,
			Cause:    cause.AcceptQueueOverflow,
			Summary:  fmt.Sprintf("listener %s has %d of %d accept-queue slots taken", l.Addr, l.Queue, l.Backlog),
			Evidence: []string{fmt.Sprintf("sock_diag: idiag_rqueue=%d idiag_wqueue=%d inode=%d uid=%d", l.Queue, l.Backlog, l.Inode, l.UID)},
		}
		if l.Queue > l.Backlog {
			f.Severity = Critical
			f.Summary = fmt.Sprintf("listener %s accept queue is full (%d queued, backlog %d)", l.Addr, l.Queue, l.Backlog)
		}
		if l.PID != 0 {
			f.Summary += fmt.Sprintf(", owned by %s (pid %d)", l.Command, l.PID)
			f.Evidence = append(f.Evidence, fmt.Sprintf("owner: pid %d comm %s", l.PID, l.Command))
		}
		switch {
		case haveAbort && abortOnOverflow != 0:
			f.Evidence = append(f.Evidence, "net.ipv4.tcp_abort_on_overflow = 1: overflowing handshakes are reset")
		case haveAbort:
			f.Evidence = append(f.Evidence, "net.ipv4.tcp_abort_on_overflow = 0: overflowing handshakes are dropped and retried (latency, not resets)")
		}
		f.Advice = []string{
			"make the owning process accept() faster or run more acceptors",
			"raise its listen() backlog (capped by net.core.somaxconn)",
		}
		out = append(out, f)
	}
	return out
}

// nearFull reports whether l's accept queue is at least 80% of its backlog.
func nearFull(l Listener) bool {
	return l.Queue > 0 && uint64(l.Queue)*10 >= uint64(l.Backlog)*8
}
