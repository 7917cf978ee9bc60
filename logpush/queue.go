// Package logpush sends findings to log stores: Loki's push API and OTLP
// logs over HTTP. A Queue stands between the watch and the store: Push never
// blocks and never grows memory past a bound, whatever the store does; a
// batch the store refuses is tried a bounded number of times and then
// dropped, and every drop is counted (render's
// rstscope_log_records_dropped_total).
package logpush

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rstscope/rstscope/report"
)

// Entry is one finding as a log record.
type Entry struct {
	Time   time.Time
	Cause  string
	Sender string
	Benign bool
	// Line is the finding as one JSON object (report.Finding.AppendJSON),
	// the same line watch --format ndjson writes.
	Line []byte
}

// Sender writes one batch to a store. An error wrapped with Permanent is
// not tried again (the store said the request itself is wrong).
type Sender interface {
	Send(ctx context.Context, batch []Entry) error
}

// permanent marks an error that another try cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent wraps err so the Queue drops the batch at once.
func Permanent(err error) error { return permanent{err} }

// Options bound a Queue. Zero fields take the defaults named.
type Options struct {
	// MaxEntries is how many findings may wait; 0 means 4096. At about
	// 1 KiB a finding (the NDJSON line with its advice), 4 MiB.
	MaxEntries int
	// MaxBytes bounds the waiting lines' bytes; 0 means 8 MiB.
	MaxBytes int
	// Batch is the most findings in one request; 0 means 500.
	Batch int
	// Wait is how long the first finding of a batch waits for more; 0
	// means 1s (promtail's batchwait).
	Wait time.Duration
	// Tries is how often a batch is sent before it is dropped; 0 means 3.
	Tries int
	// Backoff is the pause before the second try, doubled for each next;
	// 0 means 500ms.
	Backoff time.Duration
	// Timeout bounds one try; 0 means 5s.
	Timeout time.Duration
	// OnState, when set, is called from the queue's goroutine when sending
	// starts failing (with the error that dropped a batch) and when it
	// works again (nil): one call per change, not one per batch.
	OnState func(err error)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxEntries, 4096)
	def(&o.MaxBytes, 8<<20)
	def(&o.Batch, 500)
	def(&o.Tries, 3)
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
}

// Stats are a Queue's running totals, in findings.
type Stats struct {
	Sent     uint64 // accepted by the store
	Dropped  uint64 // never accepted: queue full, tries used up, or shut down first
	Failures uint64 // requests that failed (each try counts)
}

// Queue batches findings to a Sender from one goroutine of its own.
type Queue struct {
	s     Sender
	o     Options
	ch    chan Entry
	bytes atomic.Int64

	sent, dropped, failures atomic.Uint64

	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	lastErr   error // owned by the goroutine until done is closed
}

// New starts a Queue sending to s.
func New(s Sender, o Options) *Queue {
	o.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{s: s, o: o, ch: make(chan Entry, o.MaxEntries), closing: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	go q.run()
	return q
}

// NewEntry encodes f once for every sink it goes to.
func NewEntry(f *report.Finding) Entry {
	// 1 KiB holds a typical finding with its advice in one allocation
	// (BenchmarkQueuePush: 7 allocations a push growing from nil, 1 this
	// way).
	return Entry{Time: f.Time, Cause: string(f.Cause), Sender: string(f.Sender), Benign: f.Benign,
		Line: f.AppendJSON(make([]byte, 0, 1024))}
}

// Push queues f and reports whether it was taken; it never blocks. A full
// queue (the store is slow or gone) drops f and counts it, without
// encoding it.
func (q *Queue) Push(f *report.Finding) bool {
	if !q.Admit() {
		return false
	}
	return q.PushEntry(NewEntry(f))
}

// Admit reports whether an entry can wait now; when it cannot (the queue
// is full or closed) it counts the drop, so a caller can skip encoding a
// finding nobody will take: under a flood to a dead store that is every
// finding after the first 4096.
func (q *Queue) Admit() bool {
	select {
	case <-q.closing:
		q.dropped.Add(1)
		return false
	default:
	}
	if len(q.ch) == cap(q.ch) {
		q.dropped.Add(1)
		return false
	}
	return true
}

// PushEntry is Push for an entry already encoded (NewEntry), which several
// queues may share: they only read its line.
func (q *Queue) PushEntry(e Entry) bool {
	select {
	case <-q.closing:
		q.dropped.Add(1)
		return false
	default:
	}
	n := int64(len(e.Line))
	if q.bytes.Add(n) > int64(q.o.MaxBytes) {
		q.bytes.Add(-n)
		q.dropped.Add(1)
		return false
	}
	select {
	case q.ch <- e:
		return true
	default:
		q.bytes.Add(-n)
		q.dropped.Add(1)
		return false
	}
}

// Stats returns the running totals; safe at any time.
func (q *Queue) Stats() Stats {
	return Stats{Sent: q.sent.Load(), Dropped: q.dropped.Load(), Failures: q.failures.Load()}
}

// Close stops taking findings and sends what waits until ctx is done; what
// is left then is dropped (and counted). It returns the error of the last
// batch that was dropped for failing, if any, and is safe to call twice.
func (q *Queue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() { close(q.closing) })
	select {
	case <-q.done:
	case <-ctx.Done():
		q.cancel() // abandons a try in flight and the backoff
		<-q.done
	}
	q.cancel()
	return q.lastErr
}

func (q *Queue) run() {
	defer close(q.done)
	batch := make([]Entry, 0, q.o.Batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	failing := false
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err := q.send(batch)
		var n int64
		for i := range batch {
			n += int64(len(batch[i].Line))
			batch[i] = Entry{}
		}
		q.bytes.Add(-n)
		if err != nil {
			q.dropped.Add(uint64(len(batch)))
			q.lastErr = err
		} else {
			q.sent.Add(uint64(len(batch)))
		}
		if (err != nil) != failing && q.o.OnState != nil {
			q.o.OnState(err)
		}
		failing = err != nil
		batch = batch[:0]
	}
	for {
		select {
		case e := <-q.ch:
			if len(batch) == 0 {
				timer.Reset(q.o.Wait)
			}
			batch = append(batch, e)
			if len(batch) >= q.o.Batch {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		case <-q.closing:
			timer.Stop()
		drain:
			for {
				select {
				case e := <-q.ch:
					batch = append(batch, e)
					if len(batch) >= q.o.Batch {
						flush()
					}
				default:
					break drain
				}
			}
			flush()
			return
		}
	}
}

// send tries batch up to Tries times with a doubling backoff; a cancelled
// queue (Close ran out of time) stops at once.
func (q *Queue) send(batch []Entry) error {
	var err error
	pause := q.o.Backoff
	for try := 0; try < q.o.Tries; try++ {
		if try > 0 {
			select {
			case <-time.After(pause):
			case <-q.ctx.Done():
				return err
			}
			pause *= 2
		}
		ctx, cancel := context.WithTimeout(q.ctx, q.o.Timeout)
		err = q.s.Send(ctx, batch)
		cancel()
		if err == nil {
			return nil
		}
		q.failures.Add(1)
		if errors.As(err, new(permanent)) || q.ctx.Err() != nil {
			return err
		}
	}
	return err
}
