package diagnose

import (
	"slices"
	"sync"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// Joiner merges what the kernel and the packets say about the same reset
// into one finding. Findings wait up to Window for their other half; a
// finding whose half never comes (a reset forged on the wire, a kernel
// event on another interface) goes out alone when its time is up.
type Joiner struct {
	Window time.Duration
	Emit   func(report.Finding)

	mu      sync.Mutex
	waiting []joined
}

type joined struct {
	f      report.Finding
	kernel bool // some half came from the kernel
	packet bool // some half came from a capture
	at     time.Time
}

// Add offers a finding; fromKernel says which source made it.
func (j *Joiner) Add(f report.Finding, fromKernel bool, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.waiting {
		w := &j.waiting[i]
		if w.f.From == f.From && to(&w.f) == to(&f) && (fromKernel && !w.kernel || !fromKernel && !w.packet) {
			merge(&w.f, &f, fromKernel)
			w.kernel, w.packet = w.kernel || fromKernel, w.packet || !fromKernel
			return
		}
	}
	j.waiting = append(j.waiting, joined{f: f, kernel: fromKernel, packet: !fromKernel, at: now})
}

// Flush emits the findings that waited their full window by now; a zero
// now emits them all.
func (j *Joiner) Flush(now time.Time) {
	j.mu.Lock()
	var out []report.Finding
	keep := j.waiting[:0]
	for _, w := range j.waiting {
		if now.IsZero() || now.Sub(w.at) >= j.Window || w.kernel && w.packet {
			out = append(out, w.f)
		} else {
			keep = append(keep, w)
		}
	}
	j.waiting = keep
	j.mu.Unlock()
	for _, f := range out {
		j.Emit(f)
	}
}

// to is the address a reset went to.
func to(f *report.Finding) string {
	if f.From == f.Client {
		return f.Server
	}
	return f.Client
}

// merge folds the other half into base. The packets decide who sent the
// reset (only they see a forger); the kernel's reason decides why when it
// names one, since the kernel knows the code path that sent it.
func merge(base, other *report.Finding, otherFromKernel bool) {
	k, p := other, base
	if !otherFromKernel {
		k, p = base, other
	}
	m := *p
	m.Direction, m.KernelReason, m.State, m.NetNS = k.Direction, k.KernelReason, k.State, k.NetNS
	m.PID, m.Command, m.Cgroup, m.Context = k.PID, k.Command, k.Cgroup, k.Context
	if k.KernelReason != "" && k.Cause != cause.Unknown && k.Cause != p.Cause {
		m.Evidence = append(slices.Clip(m.Evidence), "the packets alone suggested "+string(p.Cause))
		m.Cause, m.Advice, m.Benign = k.Cause, k.Advice, k.Benign
		m.Confidence = max(k.Confidence, p.Confidence)
	} else if k.KernelReason != "" {
		m.Confidence = min(1, p.Confidence+0.2)
	}
	for _, e := range k.Evidence {
		if !slices.Contains(m.Evidence, e) {
			m.Evidence = append(slices.Clip(m.Evidence), e)
		}
	}
	*base = m
}
