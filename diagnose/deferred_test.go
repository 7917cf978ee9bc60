package diagnose

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// TestDeferredSameAsInline: with a core to spare, resets on Conns are
// explained on the writer's goroutine (Analyzer.deferred), the verdict on
// a connection's earlier reset reaching a later one through its verdict
// box rather than the note on the Conn. Every finding must be the same, in
// the same order, as explaining inline on one goroutine, for every capture
// of testdata and the shared corpus, in batches small enough that resets
// of one connection are handed over in different batches.
func TestDeferredSameAsInline(t *testing.T) {
	root := testutil.ModuleRoot(t)
	var files []string
	for _, dir := range []string{filepath.Join(root, "testdata"), filepath.Join(root, "..", "shared", "corpus")} {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
				files = append(files, path)
			}
			return nil
		})
	}
	files = append(files, repeatedResets(t))
	if len(files) < 10 {
		t.Fatalf("found %d captures, want the testdata's and the corpus' (%d)", len(files), len(files))
	}
	defer func(f, b int) { batchFrames, batchBytes = f, b }(batchFrames, batchBytes)
	batchFrames, batchBytes = 5, 1000
	analyse := func(name string, procs int) (out []string, errText string) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		opts := DefaultOptions
		var conns []string // OnConn is called on the tracker's goroutine, OnFinding on the writer's
		opts.OnFinding = func(f report.Finding) { out = append(out, fmt.Sprintf("%+v", f)) }
		opts.OnConn = func(c report.ConnSummary) { conns = append(conns, fmt.Sprintf("%+v", c)) }
		st, err := ReadFile(name, opts)
		if err != nil {
			errText = err.Error()
		}
		return append(append(out, conns...), fmt.Sprintf("%+v", st)), errText
	}
	repeats := 0 // findings that follow an earlier reset from the same side of their connection
	for _, name := range files {
		want, wantErr := analyse(name, 1)
		got, gotErr := analyse(name, 2)
		if gotErr != wantErr {
			t.Errorf("%s: error %q on two goroutines, %q inline", name, gotErr, wantErr)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d findings and connections on two goroutines, %d inline", name, len(got), len(want))
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: record %d differs:\ngot  %s\nwant %s", name, i, got[i], want[i])
				break
			}
			if strings.Contains(want[i], "repeats the reset at frame") { // cause.matchRepeat, which reads Earlier
				repeats++
			}
		}
	}
	if repeats < 2 {
		t.Errorf("no finding followed an earlier reset: the verdict boxes went untested")
	}
}

// repeatedResets writes a capture where a server resets a connection
// twice, the second time after the first reset's look-ahead closed (so the
// first one's verdict reaches the second through the note on the Conn,
// not as a reset still pending), on two connections.
func repeatedResets(t *testing.T) string {
	t.Helper()
	b := testutil.PcapHeader()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	buf := make([]byte, 128)
	cli, srv := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	for i, at := range []time.Duration{0, 10 * time.Millisecond} {
		port := uint16(40000 + i)
		for _, f := range []struct {
			at       time.Duration
			fromCli  bool
			seq, ack uint32
			flags    packet.Flags
			payload  int
		}{
			{0, true, 100, 0, packet.SYN, 0},
			{time.Millisecond, false, 500, 101, packet.SYN | packet.ACK, 0},
			{2 * time.Millisecond, true, 101, 501, packet.ACK, 0},
			{3 * time.Millisecond, true, 101, 501, packet.ACK | packet.PSH, 10},
			{4 * time.Millisecond, false, 501, 0, packet.RST, 0},
			{3 * time.Second, true, 111, 501, packet.ACK | packet.PSH, 10},
			{3*time.Second + time.Millisecond, false, 501, 0, packet.RST, 0},
		} {
			src, dst, sp, dp := cli, srv, port, uint16(80)
			if !f.fromCli {
				src, dst, sp, dp = srv, cli, 80, port
			}
			b = append(b, testutil.PcapRecord(t0.Add(at+f.at), synthFrame(buf, src, dst, sp, dp, f.seq, f.ack, f.flags, f.payload)[14:])...) // raw IP: PcapHeader is LINKTYPE_RAW
		}
	}
	name := filepath.Join(t.TempDir(), "repeated-resets.pcap")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}
