//go:build unix

package diagnose

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// BenchmarkReadFileBenchCapture analyses bench/out/traffic.pcap (made by
// bench/mkcapture.sh; skipped without it) as analyze --format ndjson does,
// and reports the process's CPU time per run (user + system, read-ahead
// and garbage collector included) beside the wall time: on a machine
// shared with other work, CPU time is the figure that compares.
func BenchmarkReadFileBenchCapture(b *testing.B) {
	name := filepath.Join(testutil.ModuleRoot(b), "bench", "out", "traffic.pcap")
	if _, err := os.Stat(name); err != nil {
		b.Skipf("no bench capture (make it with bench/mkcapture.sh): %v", err)
	}
	opts := DefaultOptions
	var buf []byte
	opts.OnFinding = func(f report.Finding) { buf = f.AppendJSON(buf[:0]) }
	b.ReportAllocs()
	cpu0 := cpuTime()
	pkts := uint64(0)
	for b.Loop() {
		st, err := ReadFile(name, opts)
		if err != nil {
			b.Fatal(err)
		}
		pkts += st.Packets
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(pkts)/cpu.Seconds(), "packets/cpu-s")
}

// BenchmarkReadAheadBenchCapture reads bench/out/traffic.pcap through the
// read-ahead into a consumer that does nothing: the cost of reading and
// handing over frames alone, CPU time per run reported as above.
func BenchmarkReadAheadBenchCapture(b *testing.B) {
	name := filepath.Join(testutil.ModuleRoot(b), "bench", "out", "traffic.pcap")
	if _, err := os.Stat(name); err != nil {
		b.Skipf("no bench capture (make it with bench/mkcapture.sh): %v", err)
	}
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		r, err := capture.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		if err := readAhead(context.Background(), r, Options{}, func(data []byte, _ capture.Info, _ *packet.Packet, _ *flow.Key, _ error) { n += len(data) }, nil, nil); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
