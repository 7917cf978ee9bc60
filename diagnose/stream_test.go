package diagnose

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// TestReadAheadStreams: from a pipe that goes quiet, a finding whose
// look-ahead has closed goes out while the pipe is still quiet, through
// the reading, analysing and writing goroutines. The
// read-ahead handed over only full batches (512 frames), so
// "(cat resets.pcap; sleep 4) | rstscope analyze -" printed its first
// finding after 4 s on two cores.
func TestReadAheadStreams(t *testing.T) {
	pr, pw := io.Pipe()
	stall := make(chan struct{})
	defer close(stall)
	wrote := make(chan time.Time, 1)
	go func() {
		ts := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
		b := testutil.PcapHeader()
		b = append(b, testutil.PcapRecord(ts, testutil.RawSYN)...)
		b = append(b, testutil.PcapRecord(ts.Add(time.Millisecond), testutil.RawRSTACK)...)
		// The SYN retried 3 s later: the reset's 2 s look-ahead has closed.
		b = append(b, testutil.PcapRecord(ts.Add(3*time.Second), testutil.RawSYN)...)
		pw.Write(b)
		wrote <- time.Now()
		<-stall
		pw.Close()
	}()
	r, err := capture.NewReader("pipe", pr)
	if err != nil {
		t.Fatal(err)
	}
	found := make(chan report.Finding, 4)
	opts := DefaultOptions
	opts.OnFinding = func(f report.Finding) { found <- f }
	a := New("pipe", opts)
	go a.pipelined(context.Background(), r)
	select {
	case f := <-found:
		took := time.Since(<-wrote)
		t.Logf("finding for frame %d %v after the write", f.Frame, took)
		if f.Frame != 2 {
			t.Errorf("got a finding for frame %d, want 2", f.Frame)
		}
		if took > 500*time.Millisecond {
			t.Errorf("finding came %v after its look-ahead closed, want < 100 ms on an idle machine", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no finding while the pipe was quiet")
	}
}
