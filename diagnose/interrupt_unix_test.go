//go:build unix

package diagnose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// stalledFIFO makes a named pipe whose writer sends a pcap header and
// frames, captured at the offsets given (else 1 ms apart), then stalls with
// the pipe open until the test ends: a live capture (tcpdump -w) that has
// gone quiet.
func stalledFIFO(t *testing.T, offsets []time.Duration, frames ...[]byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "live.pcap")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		w, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return // the test fails on its read
		}
		defer w.Close()
		b := testutil.PcapHeader()
		ts := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
		for i, f := range frames {
			off := time.Duration(i) * time.Millisecond
			if i < len(offsets) {
				off = offsets[i]
			}
			b = append(b, testutil.PcapRecord(ts.Add(off), f)...)
		}
		w.Write(b)
		<-done
	}()
	return name
}

// TestReadFileInterrupted: cancelling the context while the reader waits
// in the middle of a file (a pipe gone quiet) stops the read at once, on
// one core (the read itself is woken) and on two (the read-ahead); the
// frames read by then are analysed and their reset explained, and the error
// says where the file was cut.
func TestReadFileInterrupted(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			name := stalledFIFO(t, nil, testutil.RawSYN, testutil.RawRSTACK)
			var (
				mu       sync.Mutex
				findings []report.Finding
			)
			opts := DefaultOptions
			opts.OnFinding = func(f report.Finding) { mu.Lock(); findings = append(findings, f); mu.Unlock() }
			ctx, cancel := context.WithCancel(context.Background())
			var cancelled time.Time
			// Half a second for the two frames to pass through the pipe
			// (a busy machine takes milliseconds), then Ctrl-C.
			time.AfterFunc(500*time.Millisecond, func() { cancelled = time.Now(); cancel() })
			st, err := ReadFileContext(ctx, name, opts)
			took := time.Since(cancelled)
			t.Logf("returned %v after the cancel", took)
			if took > time.Second {
				t.Errorf("returned %v after the cancel, want at once (< 100 ms on an idle machine)", took)
			}
			if !errors.Is(err, capture.ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Fatalf("got error %v, want one wrapping capture.ErrInterrupted and context.Canceled", err)
			}
			if want := name + ": interrupted after frame 2"; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got error %q, want it to start %q", err, want)
			}
			if !st.Interrupted || st.Packets != 2 || st.Error != err.Error() {
				t.Errorf("got stats %+v, want 2 packets, interrupted, with the error", st)
			}
			if len(findings) != 1 || findings[0].Frame != 2 || findings[0].Cause != "closed-port" {
				t.Errorf("got findings %+v, want frame 2's closed-port", findings)
			}
		})
	}
}
