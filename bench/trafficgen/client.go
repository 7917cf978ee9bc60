package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// kind is one behaviour of a planned connection.
type kind int

const (
	kShort       kind = iota // request/response, server closes first, normal FIN close
	kAbortClient             // client reads the whole response, then aborts: SO_LINGER 0 → RST from client
	kAbortServer             // server aborts after writing the response: SO_LINGER 0 → RST from server
	kUnread                  // server closes without reading the client's data → RST from server
	kClosed                  // SYN to a port with no listener → RST+ACK
	kBulkGet                 // download of bulk-bytes
	kBulkPut                 // upload of bulk-bytes
	numKinds
)

var kindNames = [numKinds]string{"short", "abort-client", "abort-server", "unread-close", "closed-port", "bulk-download", "bulk-upload"}

func (k kind) String() string { return kindNames[k] }

type job struct {
	kind kind
	v6   bool
	size int
	port int
}

// stats counts outcomes per kind and family; index 0 is IPv4, 1 is IPv6.
type stats struct {
	ok, failed, skipped [numKinds][2]atomic.Int64
	bytes               atomic.Int64
	mu                  sync.Mutex
	firstErrs           map[string]int
}

func (s *stats) fail(j job, err error) {
	s.failed[j.kind][fam(j.v6)].Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := j.kind.String() + ": " + err.Error()
	if len(s.firstErrs) < 20 || s.firstErrs[msg] > 0 {
		s.firstErrs[msg]++
	}
}

func fam(v6 bool) int {
	if v6 {
		return 1
	}
	return 0
}

// plan makes the fixed list of connections: n of each kind, the i-th of a
// kind over IPv6 when floor((i+1)·share) steps up, so every kind gets the
// same IPv6 share.
func plan(cfg config, rng *rand.Rand) (small, bulk []job) {
	counts := [numKinds]int{cfg.short, cfg.abortClient, cfg.abortServer, cfg.unread, cfg.closed, (cfg.bulk + 1) / 2, cfg.bulk / 2}
	for k, n := range counts {
		for i := 0; i < n; i++ {
			j := job{kind: kind(k)}
			if cfg.addr6 != "" {
				j.v6 = int(float64(i+1)*cfg.v6Share) > int(float64(i)*cfg.v6Share)
			}
			switch j.kind {
			case kShort:
				j.port, j.size = portShort, 100+rng.Intn(4000)
			case kAbortClient:
				j.port, j.size = portHold, 100+rng.Intn(4000)
			case kAbortServer:
				j.port, j.size = portAbort, 100+rng.Intn(4000)
			case kUnread:
				j.port, j.size = portUnread, 1000+rng.Intn(8000)
			case kClosed:
				j.port = portClosed0 + rng.Intn(100)
			case kBulkGet:
				j.port, j.size = portBulk, cfg.bulkBytes
			case kBulkPut:
				j.port, j.size = portBulk, cfg.bulkBytes
			}
			if j.kind == kBulkGet || j.kind == kBulkPut {
				bulk = append(bulk, j)
			} else {
				small = append(small, j)
			}
		}
	}
	rng.Shuffle(len(small), func(a, b int) { small[a], small[b] = small[b], small[a] })
	rng.Shuffle(len(bulk), func(a, b int) { bulk[a], bulk[b] = bulk[b], bulk[a] })
	return small, bulk
}

// runClient runs the plan with cfg.workers parallel short-lived connections
// and cfg.bulkWorkers parallel bulk transfers, then prints the outcome.
func runClient(ctx context.Context, cfg config, out io.Writer) error {
	rng := rand.New(rand.NewSource(cfg.seed))
	small, bulk := plan(cfg, rng)
	s := &stats{firstErrs: map[string]int{}}
	start := time.Now()
	var wg sync.WaitGroup
	feed := func(jobs []job, workers int) {
		ch := make(chan job)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range ch {
					if ctx.Err() != nil {
						s.skipped[j.kind][fam(j.v6)].Add(1)
						continue
					}
					if err := do(ctx, cfg, j, s); err != nil {
						s.fail(j, err)
					} else {
						s.ok[j.kind][fam(j.v6)].Add(1)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range jobs {
				ch <- j
			}
			close(ch)
		}()
	}
	feed(small, cfg.workers)
	feed(bulk, cfg.bulkWorkers)
	wg.Wait()
	report(out, cfg, s, time.Since(start))
	return nil
}

func (j job) addr(cfg config) string {
	host := cfg.addr4
	if j.v6 {
		host = cfg.addr6
	}
	return net.JoinHostPort(host, strconv.Itoa(j.port))
}

// do runs one planned connection. A nil error means it behaved as planned
// (for kClosed: the connection was refused).
func do(ctx context.Context, cfg config, j job, s *stats) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", j.addr(cfg))
	if j.kind == kClosed {
		if err == nil {
			c.Close()
			return errors.New("connected to a port meant to be closed")
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	tc := c.(*net.TCPConn)
	defer tc.Close()
	limit := 10 * time.Second
	if j.kind == kBulkGet || j.kind == kBulkPut {
		limit = 60 * time.Second
	}
	tc.SetDeadline(time.Now().Add(limit))

	switch j.kind {
	case kShort:
		if _, err := fmt.Fprintf(tc, "%d\n", j.size); err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, tc)
		if err != nil {
			return err
		}
		if int(n) != j.size {
			return fmt.Errorf("got %d bytes, want %d", n, j.size)
		}
		s.bytes.Add(n)
	case kAbortClient:
		if _, err := fmt.Fprintf(tc, "%d\n", j.size); err != nil {
			return err
		}
		// Read it all: with unread data in the receive buffer, tcp_close()
		// would send its RST for that reason (TCP_ABORT_ON_CLOSE), not for
		// the linger setting.
		n, err := io.CopyN(io.Discard, tc, int64(j.size))
		s.bytes.Add(n)
		if err != nil {
			return err
		}
		tc.SetLinger(0) // close() sends RST
	case kAbortServer:
		if _, err := fmt.Fprintf(tc, "%d\n", j.size); err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, tc)
		s.bytes.Add(n)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			return err
		}
	case kUnread:
		if err := writeN(tc, j.size); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			return err
		}
		_, err := io.Copy(io.Discard, tc)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			return err
		}
	case kBulkGet:
		if _, err := fmt.Fprintf(tc, "G %d\n", j.size); err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, tc)
		s.bytes.Add(n)
		if err != nil {
			return err
		}
		if int(n) != j.size {
			return fmt.Errorf("got %d bytes, want %d", n, j.size)
		}
	case kBulkPut:
		if _, err := fmt.Fprintf(tc, "P %d\n", j.size); err != nil {
			return err
		}
		if err := writeN(tc, j.size); err != nil {
			return err
		}
		s.bytes.Add(int64(j.size))
		tc.CloseWrite()
		var ok [2]byte
		if _, err := io.ReadFull(tc, ok[:]); err != nil {
			return fmt.Errorf("waiting for upload ack: %w", err)
		}
	}
	return nil
}

func report(out io.Writer, cfg config, s *stats, took time.Duration) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tipv4\tipv6\ttotal\tfailed\tskipped\t")
	var tot, tot6, totFailed, totSkipped int64
	for k := kind(0); k < numKinds; k++ {
		v4, v6 := s.ok[k][0].Load()+s.failed[k][0].Load(), s.ok[k][1].Load()+s.failed[k][1].Load()
		f := s.failed[k][0].Load() + s.failed[k][1].Load()
		sk := s.skipped[k][0].Load() + s.skipped[k][1].Load()
		fmt.Fprintf(tw, "%v\t%d\t%d\t%d\t%d\t%d\t\n", k, v4, v6, v4+v6, f, sk)
		tot += v4 + v6
		tot6 += v6
		totFailed += f
		totSkipped += sk
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%d\t%d\t\n", tot-tot6, tot6, tot, totFailed, totSkipped)
	tw.Flush()
	share := 0.0
	if tot > 0 {
		share = 100 * float64(tot6) / float64(tot)
	}
	fmt.Fprintf(out, "connections attempted: %d (IPv6 %.1f%%) in %.1fs (%.0f/s), payload bytes moved: %d\n",
		tot, share, took.Seconds(), float64(tot)/took.Seconds(), s.bytes.Load())
	for msg, n := range s.firstErrs {
		fmt.Fprintf(out, "error x%d: %s\n", n, msg)
	}
}
