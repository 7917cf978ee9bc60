package diagnose

import (
	"slices"
	"sync"
	"time"

	"github.com/rstscope/rstscope/report"
)

// Joiner merges what the kernel and the packets say about the same reset
// into one finding, and puts findings out in time order. Each finding
// waits Window after it arrived for its other half; a finding whose half
// never comes (a reset forged on the wire, a kernel event on another
// interface) goes out alone. Window must exceed the sources' own delay
// (the kernel's Correlator window, the packets' look-ahead) for the output
// to stay in order; findings go out at most 2·Window after they arrive.
type Joiner struct {
	Window time.Duration
	Emit   func(report.Finding)

	mu    sync.Mutex
	queue []*joined             // by Finding.Time, oldest first
	open  map[openKey][]*joined // halves still waiting for the other, oldest first
}

type joined struct {
	f      report.Finding
	kernel bool // some half came from the kernel
	packet bool // some half came from a capture
	at     time.Time
}

type joinKey struct{ from, to string }

// openKey files a waiting half by its address pair and source, so a half
// looks only at the other source's (a stream one source alone sees, as
// kernel events from interfaces not captured, stays O(1) a finding).
type openKey struct {
	joinKey
	kernel bool
}

// Add offers a finding; fromKernel says which source made it. It joins
// the waiting half of the same address pair from the other source nearest
// in time whose flags can be the same: one close can send a bare RST (a segment in
// flight answered by the listener, the socket already unhashed) and the
// close's own RST+ACK to one peer within microseconds, and the kernel's
// events and the packets need not come in the same order (bench/truth
// found the close's reason paired with the listener's reset that way).
func (j *Joiner) Add(f report.Finding, fromKernel bool, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	k := joinKey{f.From, to(&f)}
	other := openKey{k, !fromKernel}
	waiting := j.open[other]
	best := -1
	var bestD time.Duration
	for i, w := range waiting {
		if w.f.ResetACK*f.ResetACK < 0 {
			continue
		}
		// The nearest in time, the oldest on a tie: a half lost on one
		// side (a dropped packet or event) must not shift every later
		// pair on the address pair by one.
		d := w.f.Time.Sub(f.Time)
		if d < 0 {
			d = -d
		}
		if best < 0 || d < bestD {
			best, bestD = i, d
		}
	}
	if best >= 0 {
		w := waiting[best]
		merge(&w.f, &f, fromKernel)
		w.kernel, w.packet = w.kernel || fromKernel, w.packet || !fromKernel
		j.forget(other, waiting, best)
		return
	}
	w := &joined{f: f, kernel: fromKernel, packet: !fromKernel, at: now}
	if j.open == nil {
		j.open = make(map[openKey][]*joined)
	}
	mine := openKey{k, fromKernel}
	j.open[mine] = append(j.open[mine], w)
	// Sources deliver nearly in order: the walk from the back is short.
	i := len(j.queue)
	j.queue = append(j.queue, w)
	for i > 0 && j.queue[i-1].f.Time.After(f.Time) {
		j.queue[i] = j.queue[i-1]
		i--
	}
	j.queue[i] = w
}

// Flush emits, in time order, the findings that waited their full window
// by now; a zero now emits them all.
func (j *Joiner) Flush(now time.Time) {
	j.mu.Lock()
	n := 0
	for ; n < len(j.queue); n++ {
		if !now.IsZero() && now.Sub(j.queue[n].at) < j.Window {
			break
		}
	}
	out := slices.Clone(j.queue[:n])
	j.queue = j.queue[:copy(j.queue, j.queue[n:])]
	for _, w := range out {
		if w.kernel && w.packet {
			continue // joined: no longer waiting
		}
		k := openKey{joinKey{w.f.From, to(&w.f)}, w.kernel}
		waiting := j.open[k]
		if i := slices.Index(waiting, w); i >= 0 {
			j.forget(k, waiting, i)
		}
	}
	j.mu.Unlock()
	for _, w := range out {
		j.Emit(w.f)
	}
}

// forget takes waiting[i], a half filed under k, off the open list.
func (j *Joiner) forget(k openKey, waiting []*joined, i int) {
	if len(waiting) == 1 {
		delete(j.open, k)
		return
	}
	j.open[k] = slices.Delete(waiting, i, i+1)
}

// to is the address a reset went to.
func to(f *report.Finding) string {
	if f.From == f.Client {
		return f.Server
	}
	return f.Client
}

// merge folds the other half into base: the capture's frame and file, the
// kernel's reason, state and task. The verdict is the kernel half's when
// cause.Classify decided it from the kernel's own account (this host sent
// or built the reset), since Classify lets that account decide over the
// wire; a reset this host only received has no account of its sender, and
// the packets' verdict stands.
func merge(base, other *report.Finding, otherFromKernel bool) {
	k, p := other, base
	if !otherFromKernel {
		k, p = base, other
	}
	m := *p
	m.Direction, m.KernelReason, m.State, m.NetNS = k.Direction, k.KernelReason, k.State, k.NetNS
	m.PID, m.Command, m.Cgroup, m.Context = k.PID, k.Command, k.Cgroup, k.Context
	if k.Direction == "sent" {
		m.Cause, m.Sender, m.Confidence, m.Alternatives = k.Cause, k.Sender, k.Confidence, k.Alternatives
		m.Advice, m.Benign = k.Advice, k.Benign
		if k.Cause != p.Cause {
			m.Evidence = append(slices.Clip(m.Evidence), "the packets alone suggested "+string(p.Cause))
		}
	}
	for _, e := range k.Evidence {
		if !slices.Contains(m.Evidence, e) {
			m.Evidence = append(slices.Clip(m.Evidence), e)
		}
	}
	*base = m
}
