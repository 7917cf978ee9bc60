package diagnose_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// cpuTime is this process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// shiftedCopy writes src with every timestamp an hour later: a second
// capture point of the same traffic, the costliest kind for the join
// (every connection and every reset is in both).
func shiftedCopy(tb testing.TB, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriterNanos(out)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		tb.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			tb.Fatal(err)
		}
		ci.Timestamp = ci.Timestamp.Add(time.Hour)
		if err := w.WritePacket(ci, data); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkJoinCost is the join's price: CPU seconds to analyse the bench
// capture and a copy of it shifted by an hour (bench/mkcapture.sh captures
// at the client only) together, over analysing the two one after the
// other without the join. It reports that ratio ("joined/separate") and
// skips without the capture.
func BenchmarkJoinCost(b *testing.B) {
	a := filepath.Join(testutil.ModuleRoot(b), "bench", "out", "traffic.pcap")
	if _, err := os.Stat(a); err != nil {
		b.Skipf("no bench capture (make it with bench/mkcapture.sh): %v", err)
	}
	c := filepath.Join(b.TempDir(), "shifted.pcap")
	shiftedCopy(b, a, c)
	files := []string{a, c}
	var sep, joined time.Duration
	for b.Loop() {
		runtime.GC()
		t0 := cpuTime()
		for _, f := range files {
			opts := diagnose.DefaultOptions
			opts.OnFinding = func(report.Finding) {}
			if _, err := diagnose.ReadFile(f, opts); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		t1 := cpuTime()
		opts := diagnose.DefaultOptions
		opts.OnFinding = func(report.Finding) {}
		opts, done := diagnose.JoinCaptures(context.Background(), files, opts)
		for _, f := range files {
			if _, err := diagnose.ReadFile(f, opts); err != nil {
				b.Fatal(err)
			}
		}
		done()
		runtime.GC()
		t2 := cpuTime()
		sep, joined = sep+t1-t0, joined+t2-t1
	}
	b.ReportMetric(joined.Seconds()/sep.Seconds(), "joined/separate")
	b.ReportMetric(sep.Seconds()/float64(b.N), "separate-cpu-s/op")
	b.ReportMetric(joined.Seconds()/float64(b.N), "joined-cpu-s/op")
}
