package diagnose

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rstscope/rstscope/applog"
	"github.com/rstscope/rstscope/report"
)

// LiveLogs joins the lines of followed logs to live findings (watch). A
// program writes its line about a reset after the reset, so each finding
// is held for Wait (at most; the window by default) before its lines are
// looked for, then joined exactly as analyze joins a capture's (the same
// ranks, signatures and cause.ApplyLogs) and passed on, in the order the
// findings came.
type LiveLogs struct {
	j    *LogJoiner
	tail *applog.Tail
	wait time.Duration

	// Owners, when set, finds the logs of each finding's process
	// (applog.Locator.Find): log files (its container's, or those it has
	// open for writing) are followed with the others; a journal (its
	// unit's, for a process writing no files) is read around each reset
	// when it is due.
	Owners *applog.Locator

	mu       sync.Mutex
	held     []heldFinding
	looked   map[int]time.Time      // pids whose logs were looked for, and when
	journals map[int]applog.Source  // pids whose logs are a journal
	read     map[string]journalRead // by Source.What: the last read
}

// journalRead is a journal read around a reset, reused for the resets
// whose windows it covers and had ended when it was read.
type journalRead struct {
	set            *applog.Set
	from, to, when time.Time
}

// journalSpan is how far around a reset a journal is read beyond the
// window, so that one journalctl run serves the resets of a few seconds.
const journalSpan = 5 * time.Second

// ownerBack is how much of an owner's log file before its end is read
// when the file is found: the finding comes a few hundred milliseconds
// after its reset (watch's kernel correlator holds it 250 ms), and its
// window reaches as far before it; 1 MiB is ~8 000 access log lines.
const ownerBack = 1 << 20

// ownerRecheck is how long a process's log files are taken as known.
const ownerRecheck = time.Minute

// follow adds the log files of the held findings' processes to the tail.
// It runs in Release, not in Hold: a file found for the first time has
// its lines counted, a read of the whole file, which the kernel events'
// path must not wait for.
func (l *LiveLogs) follow(now time.Time) {
	if l.Owners == nil {
		return
	}
	type owner struct {
		pid      int
		comm, cg string
	}
	var todo []owner
	l.mu.Lock()
	for i := range l.held {
		h := &l.held[i]
		if h.looked || h.f.PID <= 0 {
			continue
		}
		h.looked = true
		if at, ok := l.looked[h.f.PID]; ok && now.Sub(at) < ownerRecheck {
			continue
		}
		if l.looked == nil {
			l.looked = map[int]time.Time{}
		}
		l.looked[h.f.PID] = now
		todo = append(todo, owner{h.f.PID, h.f.Command, h.f.Cgroup})
	}
	l.mu.Unlock()
	for _, o := range todo {
		src, err := l.Owners.Find(applog.Owner{PID: o.pid, Comm: o.comm, Cgroup: o.cg})
		if err != nil {
			continue
		}
		for _, p := range src.Files {
			l.tail.Add(p, ownerBack)
		}
		if len(src.Files) == 0 && len(src.Journal) > 0 {
			l.mu.Lock()
			if l.journals == nil {
				l.journals = map[int]applog.Source{}
			}
			l.journals[o.pid] = src
			l.mu.Unlock()
		}
	}
}

// journalLines appends copies of the lines of src written between from
// and to, reading the journal again when the last read does not cover
// them or was read before to.
func (l *LiveLogs) journalLines(src applog.Source, from, to time.Time, lines []applog.Line) []applog.Line {
	r, ok := l.read[src.What]
	if !ok || from.Before(r.from) || to.After(r.to) || r.when.Before(to) {
		mid, half := from.Add(to.Sub(from)/2), to.Sub(from)/2
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		set, err := l.Owners.Open(ctx, src, mid, half+journalSpan, applog.Options{Time: l.j.opts.Time})
		cancel()
		if err != nil {
			return lines
		}
		if ok {
			r.set.Close()
		}
		if l.read == nil {
			l.read = map[string]journalRead{}
		}
		r = journalRead{set: set, from: mid.Add(-half - journalSpan), to: mid.Add(half + journalSpan), when: time.Now()}
		l.read[src.What] = r
	}
	r.set.Lines(from, to, func(ln *applog.Line) { lines = append(lines, *ln) })
	return lines
}

// Close removes the journals' temporary copies.
func (l *LiveLogs) Close() {
	for _, r := range l.read {
		r.set.Close()
	}
	l.read = nil
}

type heldFinding struct {
	f      report.Finding
	due    time.Time
	looked bool // its process's logs were looked for (Owners)
}

// NewLiveLogs joins the lines of tail to findings held for wait (≤ 0: the
// window). The logs' clock is the host's: o.Offset is used as given.
func NewLiveLogs(tail *applog.Tail, o LogOptions, wait time.Duration) *LiveLogs {
	if o.Window <= 0 {
		o.Window = DefaultLogOptions.Window
	}
	if o.MaxLines <= 0 {
		o.MaxLines = DefaultLogOptions.MaxLines
	}
	if wait <= 0 {
		wait = o.Window
	}
	// Lines must outlive the wait and the window on both sides of it.
	tail.Keep = max(tail.Keep, 2*(wait+o.Window)+10*time.Second)
	return &LiveLogs{j: &LogJoiner{opts: o}, tail: tail, wait: wait}
}

// Hold keeps f until its lines have had time to be written; now is when
// it arrived.
func (l *LiveLogs) Hold(f report.Finding, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Due when the wait has passed since the reset, or since it arrived if
	// the finding came late (the kernel side holds events for its own
	// window first).
	due := f.Time.Add(l.wait)
	if due.After(now.Add(l.wait)) {
		due = now.Add(l.wait)
	}
	l.held = append(l.held, heldFinding{f: f, due: due})
}

// Release reads what the logs gained, joins lines to the findings due by
// now (every one when now is zero: the watch is ending) and passes them to
// emit in the order they came. A log that cannot be read is returned after
// the findings are passed on, without their lines from it.
func (l *LiveLogs) Release(now time.Time, emit func(report.Finding)) error {
	poll := now
	if poll.IsZero() {
		poll = time.Now()
	}
	l.follow(poll)
	err := l.tail.Poll(poll)
	l.mu.Lock()
	k := 0
	for k < len(l.held) && (now.IsZero() || !l.held[k].due.After(now)) {
		k++
	}
	due := append([]heldFinding(nil), l.held[:k]...)
	l.held = append(l.held[:0], l.held[k:]...)
	l.mu.Unlock()
	// In time order, findings within a window of each other share one
	// copy of their lines (a flood of resets is many findings a tick).
	order := make([]int, len(due))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return due[order[a]].f.Time.Before(due[order[b]].f.Time) })
	for k := 0; k < len(order); {
		e := k + 1
		for e < len(order) && due[order[e]].f.Time.Sub(due[order[k]].f.Time) <= l.j.opts.Window {
			e++
		}
		group := make([]*report.Finding, 0, e-k)
		for _, i := range order[k:e] {
			group = append(group, &due[i].f)
		}
		l.join(group)
		k = e
	}
	for i := range due {
		emit(due[i].f)
	}
	return err
}

// join attaches to each finding of group (in time order, within a window
// of each other) the best lines around it from the tail and its process's
// journal.
func (l *LiveLogs) join(group []*report.Finding) {
	w, off := l.j.opts.Window, l.j.opts.Offset
	from, to := group[0].Time.Add(off-w), group[len(group)-1].Time.Add(off+w)
	// Copies: the tail moves its lines as it drops old ones.
	var lines []applog.Line
	l.tail.Lines(from, to, func(ln *applog.Line) { lines = append(lines, *ln) })
	if l.Owners != nil {
		var seen []string
		for _, f := range group {
			l.mu.Lock()
			src, ok := l.journals[f.PID]
			l.mu.Unlock()
			if ok && f.PID > 0 && !slices.Contains(seen, src.What) {
				seen = append(seen, src.What)
				lines = l.journalLines(src, from, to, lines)
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	ptrs := make([]*applog.Line, len(lines))
	for i := range lines {
		ptrs[i] = &lines[i]
	}
	b := l.j.buildBatch(ptrs)
	for _, f := range group {
		l.j.apply(f, l.j.pick(b, f, off))
	}
}

// Held says how many findings wait for their lines.
func (l *LiveLogs) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}
