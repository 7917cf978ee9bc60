//go:build linux

package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const tracefsRoot = "/sys/kernel/tracing"

var traceSeq atomic.Int64

// traceInstance is a private tracefs instance, so the lab neither reads nor
// changes the global trace buffer someone else may be using. A goroutine
// drains its trace_pipe while the run goes on: on a busy host (a benchmark
// resetting 100k loopback connections a second was measured here) the ring
// buffer would otherwise overwrite the run's few events before the end.
type traceInstance struct {
	dir  string
	keep func(line string) bool
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	kept []KernelEvent
	err  error
}

// traceBufferKB is the per-CPU ring buffer of the instance, room for a
// burst between two reads of trace_pipe.
const traceBufferKB = "4096"

// startTrace creates instances/rstlab-<pid>-<n> with the two TCP reset
// events enabled, mounting tracefs first if it is not, and keeps the events
// for which keep, given the raw line, says yes (a cheap pre-filter, before
// parsing).
func startTrace(keep func(line string) bool) (*traceInstance, error) {
	if _, err := os.Stat(filepath.Join(tracefsRoot, "instances")); err != nil {
		if err := unix.Mount("tracefs", tracefsRoot, "tracefs", 0, ""); err != nil {
			return nil, fmt.Errorf("mounting tracefs: %w", err)
		}
	}
	dir := filepath.Join(tracefsRoot, "instances", fmt.Sprintf("rstlab-%d-%d", os.Getpid(), traceSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating trace instance: %w", err)
	}
	t := &traceInstance{dir: dir, keep: keep, stop: make(chan struct{}), done: make(chan struct{})}
	if err := os.WriteFile(filepath.Join(dir, "buffer_size_kb"), []byte(traceBufferKB), 0); err != nil {
		t.remove()
		return nil, fmt.Errorf("sizing trace buffer: %w", err)
	}
	for _, ev := range []string{"tcp_send_reset", "tcp_receive_reset"} {
		p := filepath.Join(dir, "events", "tcp", ev, "enable")
		if err := os.WriteFile(p, []byte("1"), 0); err != nil {
			t.remove()
			return nil, fmt.Errorf("enabling tcp:%s: %w", ev, err)
		}
	}
	fd, err := unix.Open(filepath.Join(dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.remove()
		return nil, fmt.Errorf("opening trace_pipe: %w", err)
	}
	go t.pump(fd)
	return t, nil
}

// pump reads trace_pipe until stopped and drained.
func (t *traceInstance) pump(fd int) {
	defer close(t.done)
	defer unix.Close(fd)
	buf := make([]byte, 64<<10)
	var partial []byte
	// Once stopped, keep reading only briefly: on a busy host trace_pipe
	// may never run dry.
	var drainUntil time.Time
	for {
		if drainUntil.IsZero() {
			select {
			case <-t.stop:
				drainUntil = time.Now().Add(100 * time.Millisecond)
			default:
			}
		} else if time.Now().After(drainUntil) {
			return
		}
		n, err := unix.Read(fd, buf)
		if n > 0 {
			data := append(partial, buf[:n]...)
			for {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					break
				}
				line := string(data[:i])
				data = data[i+1:]
				if !t.keep(line) {
					continue
				}
				if ev, ok := parseTraceLine(line); ok {
					t.mu.Lock()
					t.kept = append(t.kept, ev)
					t.mu.Unlock()
				}
			}
			partial = append(partial[:0], data...)
			continue
		}
		if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			t.mu.Lock()
			t.err = fmt.Errorf("reading trace_pipe: %w", err)
			t.mu.Unlock()
			return
		}
		if !drainUntil.IsZero() {
			return // drained
		}
		select {
		case <-t.stop:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// read stops the reader and returns the events it kept.
func (t *traceInstance) read() ([]KernelEvent, error) {
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	<-t.done
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kept, t.err
}

// close stops the reader, disables the events and removes the instance.
func (t *traceInstance) close() error {
	t.read()
	return t.remove()
}

func (t *traceInstance) remove() error {
	for _, ev := range []string{"tcp_send_reset", "tcp_receive_reset"} {
		_ = os.WriteFile(filepath.Join(t.dir, "events", "tcp", ev, "enable"), []byte("0"), 0)
	}
	if err := unix.Rmdir(t.dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing trace instance: %w", err)
	}
	return nil
}
