package diagnose

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rstscope/rstscope/report"
)

// LogStream joins findings that stream (analyze's NDJSON) with the batched
// join, and hands each to emit in the order they were added. Attach, one
// finding at a time, walked every line of its window that names either
// endpoint: joining the 1 GB bench log to the bench capture took ~12 s of
// CPU that way, against ~2.2 s for JSON's batches. A finding's lines
// depend only on it and the log (TestJoinAllAgreesWithAttach), so batches
// may be cut anywhere; they are cut to keep the hold short and the reads
// shared:
//
//   - a batch spans at most batchSpan windows of reset time (findings come
//     in rough time order, after their look-ahead; one that would widen the
//     span past that closes the batch and opens the next);
//   - it holds at most streamMax findings (memory);
//   - with a hold > 0, it closes that long (wall time) after its first
//     finding came, so a live capture's findings go out promptly;
//   - Close joins and emits what is held (end of input, or Ctrl-C).
//
// Batches are joined on every core as they close; emit runs on one
// goroutine of the stream, never beside itself. The clock offset is the
// joiner's as given (no estimate: that needs every finding).
type LogStream struct {
	j    *LogJoiner
	emit func(report.Finding, error)
	hold time.Duration

	mu     sync.Mutex
	held   *heldBatch
	lo, hi time.Time // the held findings' span of reset times
	gen    int       // batches opened, so a hold timer closes only its own
	last   int       // findings the last batch closed held
	queue  chan *heldBatch
	done   chan struct{}
}

// heldBatch is a batch of findings in the order added; done closes once
// they are joined.
type heldBatch struct {
	fs   []report.Finding
	err  error
	done chan struct{}
}

// streamMax bounds the findings a batch holds: at the bench capture's
// density (6 875 resets in 12.5 s) 4 096 findings are about 7.5 s of
// resets, near the batchSpan of 8 s at the default window, and a few MB.
const streamMax = 4096

// Stream starts a stream of findings joined to j's logs. hold, when > 0,
// bounds how long a finding waits for its batch to fill (wall time).
func (j *LogJoiner) Stream(hold time.Duration, emit func(f report.Finding, err error)) *LogStream {
	s := &LogStream{j: j, emit: emit, hold: hold,
		// Batches joining or waiting to be emitted: one per core, and the
		// one the emitter is on. Add waits when they are all taken.
		queue: make(chan *heldBatch, runtime.GOMAXPROCS(0)),
		done:  make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		for b := range s.queue {
			<-b.done
			for i := range b.fs {
				s.emit(b.fs[i], b.err)
			}
		}
	}()
	return s
}

// Add holds f for its batch. Not after Close.
func (s *LogStream) Add(f report.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := f.Time
	if s.held != nil {
		lo, hi := s.lo, s.hi
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
		if len(s.held.fs) >= streamMax || hi.Sub(lo) > batchSpan*s.j.opts.Window {
			s.closeLocked()
		} else {
			s.lo, s.hi = lo, hi
		}
	}
	if s.held == nil {
		// Room for as many as the last batch held: grown from nothing,
		// the held findings (392 bytes each) were copied a dozen times
		// over, the stream's largest allocation (10 MB for the bench's
		// 6 875 findings).
		s.held = &heldBatch{done: make(chan struct{}), fs: make([]report.Finding, 0, s.last)}
		s.lo, s.hi = t, t
		s.gen++
		if s.hold > 0 {
			g := s.gen
			time.AfterFunc(s.hold, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.gen == g && s.held != nil {
					s.closeLocked()
				}
			})
		}
	}
	s.held.fs = append(s.held.fs, f)
}

// closeLocked starts joining the held batch and queues it for emitting.
func (s *LogStream) closeLocked() {
	b := s.held
	s.held = nil
	s.last = len(b.fs)
	go s.join(b)
	s.queue <- b
}

// join attaches lines to b's findings: in order of time, with JoinAll's
// machinery; b.fs keeps the order they came in.
func (s *LogStream) join(b *heldBatch) {
	defer close(b.done)
	if b.err = s.j.Err(); b.err != nil {
		return
	}
	idx := make([]int, len(b.fs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return b.fs[x].Time.Compare(b.fs[y].Time) })
	off, _ := s.j.Offset()
	_, b.err = s.j.joinSpan(b.fs, idx, off, nil)
}

// Close joins and emits the findings still held and returns once every
// finding added has been emitted.
func (s *LogStream) Close() {
	s.mu.Lock()
	if s.held != nil {
		s.closeLocked()
	}
	s.gen++
	close(s.queue)
	s.mu.Unlock()
	<-s.done
}
