package logpush

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
)

// TestQueueDeadStoreNeverBlocks: a store that accepts the connection and
// never answers. Pushing 100,000 findings must not block (a push is a
// channel send or a drop), what waits stays within MaxEntries, every
// finding is sent or counted as dropped, and Close returns within its
// deadline.
func TestQueueDeadStoreNeverBlocks(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	q := New(&Loki{URL: LokiURL(srv.URL), Node: "n"}, Options{MaxEntries: 256, Batch: 64, Wait: time.Millisecond, Timeout: 50 * time.Millisecond, Backoff: time.Millisecond})
	f := finding(cause.ClosedPort, cause.Server, time.Now())
	start := time.Now()
	const n = 100_000
	for range n {
		q.Push(&f)
	}
	// A blocked push would take the store's whole timeout (50ms here);
	// 100,000 pushes, all but the first few hundred dropped unencoded,
	// take milliseconds.
	d := time.Since(start)
	t.Logf("100,000 pushes to a dead store: %v", d)
	if d > 5*time.Second {
		t.Errorf("100,000 pushes took %v, want no blocking", d)
	}
	if w := len(q.ch); w > 256 {
		t.Errorf("%d findings waiting, want at most MaxEntries 256", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err := q.Close(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a 200ms deadline", d)
	}
	if err == nil {
		t.Error("Close returned nil, want the error that dropped batches")
	}
	st := q.Stats()
	if st.Sent != 0 || st.Dropped != n {
		t.Errorf("stats %+v, want 0 sent and all %d dropped", st, n)
	}
	if q.bytes.Load() != 0 {
		t.Errorf("%d bytes still counted as waiting after Close", q.bytes.Load())
	}
}

// TestQueueRetries: a store that fails twice with 503 then works gets the
// same batch three times; a 400 is not tried again; OnState reports the
// change to failing once and the recovery once.
func TestQueueRetries(t *testing.T) {
	var calls atomic.Int32
	status := []int{503, 503, 204, 400, 204}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(calls.Add(1)) - 1
		if i >= len(status) {
			i = len(status) - 1
		}
		w.WriteHeader(status[i])
	}))
	defer srv.Close()
	var mu sync.Mutex
	var states []error
	q := New(&Loki{URL: LokiURL(srv.URL), Node: "n"}, Options{Wait: time.Millisecond, Backoff: time.Millisecond, OnState: func(err error) {
		mu.Lock()
		states = append(states, err)
		mu.Unlock()
	}})
	f := finding(cause.ClosedPort, cause.Server, time.Now())
	q.Push(&f)
	waitFor(t, func() bool { return q.Stats().Sent == 1 })
	if c := calls.Load(); c != 3 {
		t.Errorf("%d requests for the first batch, want 3 (two 503s, then 204)", c)
	}
	q.Push(&f) // answered 400: dropped after one try
	waitFor(t, func() bool { return q.Stats().Dropped == 1 })
	if c := calls.Load(); c != 4 {
		t.Errorf("%d requests after a 400, want 4 (no retry)", c)
	}
	q.Push(&f)
	waitFor(t, func() bool { return q.Stats().Sent == 2 })
	q.Close(context.Background())
	if st := q.Stats(); st.Failures != 3 {
		t.Errorf("failures %d, want 3 (503, 503, 400)", st.Failures)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(states) != 2 || states[0] == nil || states[1] != nil {
		t.Errorf("OnState calls %v, want [error, nil]", states)
	}
	if len(states) > 0 && !errors.As(states[0], new(permanent)) {
		t.Errorf("first state %v, want the permanent 400", states[0])
	}
}

// TestQueueClosedPort: nothing listens; each batch fails fast, is tried
// Tries times and dropped.
func TestQueueClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	q := New(&Loki{URL: LokiURL("http://" + addr), Node: "n"}, Options{Wait: time.Millisecond, Backoff: time.Millisecond})
	f := finding(cause.ClosedPort, cause.Server, time.Now())
	q.Push(&f)
	waitFor(t, func() bool { return q.Stats().Dropped == 1 })
	q.Close(context.Background())
	if st := q.Stats(); st.Failures != 3 || st.Sent != 0 {
		t.Errorf("stats %+v, want 3 failures, 0 sent", st)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkQueuePush is the cost watch pays per finding for each log sink:
// encoding the JSON line and a channel send (or a drop, when full).
func BenchmarkQueuePush(b *testing.B) {
	q := New(discard{}, Options{MaxEntries: b.N + 1, MaxBytes: 1 << 40})
	defer q.Close(context.Background())
	benchPush(b, q)
	if st := q.Stats(); st.Dropped != 0 {
		b.Fatalf("%d dropped: this measures pushes taken", st.Dropped)
	}
}

// BenchmarkQueuePushFull is the cost of a drop (a dead store, a full queue).
func BenchmarkQueuePushFull(b *testing.B) {
	block := make(chan struct{})
	q := New(blocked(block), Options{MaxEntries: 1})
	benchPush(b, q)
	b.StopTimer()
	close(block)
	q.Close(context.Background())
}

func benchPush(b *testing.B, q *Queue) {
	f := finding(cause.ClosedPort, cause.Server, time.Now())
	f.Evidence = []string{"kernel: tcp_send_reset reason=NO_SOCKET state=TCP_LISTEN", "sent from kernel context"}
	f.Advice = []string{"Check that the service is listening: ss -ltnp 'sport = :80'", "If the port is meant to be closed, the reset is benign"}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N { // not b.Loop: the queue is sized from b.N beforehand
		q.Push(&f)
	}
}

type discard struct{}

type blocked chan struct{}

func (c blocked) Send(ctx context.Context, _ []Entry) error {
	select {
	case <-c:
	case <-ctx.Done():
	}
	return ctx.Err()
}

func (discard) Send(context.Context, []Entry) error { return nil }
