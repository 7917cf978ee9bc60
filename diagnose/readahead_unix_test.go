//go:build unix

package diagnose

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// TestReadAheadOnlyWithSpareCore: a file gets a reading goroutine of its
// own only while a core is spare. With two cores and two files analysed at
// once, each file's read-ahead cost 18 % more CPU for no gain. The input is
// a pipe that stalls after a reset whose look-ahead has closed, so the
// reader is still there when the finding comes; it is found in the
// goroutine dump by what created it: readAhead, called on the goroutine
// that analyses the file (which hands on the findings, or made the
// goroutine that does).
func TestReadAheadOnlyWithSpareCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, tt := range []struct {
		concurrent int
		want       bool
	}{{0, true}, {1, true}, {2, false}, {3, false}} {
		// The SYN retried 3 s later closes the reset's 2 s look-ahead.
		name := stalledFIFO(t, []time.Duration{0, time.Millisecond, 3 * time.Second}, testutil.RawSYN, testutil.RawRSTACK, testutil.RawSYN)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var seen, asked bool
		opts := DefaultOptions
		opts.Concurrent = tt.concurrent
		opts.OnFinding = func(report.Finding) {
			if asked {
				return
			}
			asked = true
			self := make([]byte, 64<<10)
			self = self[:runtime.Stack(self, false)]
			id := strings.Fields(string(self))[1] // "goroutine 42 [running]:"
			// With a core spare, findings are written by a goroutine that
			// the analysing one made (findingQueue): look for the reader
			// made by that one.
			const queue = "created by github.com/rstscope/rstscope/diagnose.newFindingQueue in goroutine "
			if i := strings.Index(string(self), queue); i >= 0 {
				id = strings.Fields(string(self[i+len(queue):]))[0]
			}
			all := make([]byte, 1<<20)
			all = all[:runtime.Stack(all, true)]
			seen = strings.Contains(string(all), "created by github.com/rstscope/rstscope/diagnose.readAhead in goroutine "+id+"\n")
			cancel()
		}
		ReadFileContext(ctx, name, opts)
		cancel()
		if !asked || seen != tt.want {
			t.Errorf("%d files at once on 2 cores: finding %v, read-ahead goroutine %v, want %v", tt.concurrent, asked, seen, tt.want)
		}
	}
}
