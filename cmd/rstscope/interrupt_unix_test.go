//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// TestAnalyzeSIGINT runs the program (this test binary re-run as main, with
// its real signal handling) on a pipe that delivers a SYN and its reset and
// then goes quiet, as a live tcpdump -w - does, and sends it SIGINT: it must
// stop at once, write the report of the two frames marked interrupted, and
// exit 130.
func TestAnalyzeSIGINT(t *testing.T) {
	if os.Getenv("RSTSCOPE_AS_MAIN") != "" {
		os.Args = append([]string{"rstscope"}, strings.Fields(os.Getenv("RSTSCOPE_AS_MAIN"))...)
		main()
		os.Exit(0)
	}
	for _, procs := range []string{"1", "2"} {
		t.Run("GOMAXPROCS="+procs, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^TestAnalyzeSIGINT$")
			cmd.Env = append(os.Environ(), "RSTSCOPE_AS_MAIN=analyze --format json -", "GOMAXPROCS="+procs)
			var stdout, stderr bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = pr, &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			ts := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
			b := append(testutil.PcapHeader(), testutil.PcapRecord(ts, testutil.RawSYN)...)
			pw.Write(append(b, testutil.PcapRecord(ts.Add(time.Millisecond), testutil.RawRSTACK)...))
			time.Sleep(time.Second) // to start up and read both frames, on a busy machine
			sent := time.Now()
			cmd.Process.Signal(os.Interrupt)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 5 s after SIGINT; stderr: %s", stderr.String())
			}
			t.Logf("exited %v after SIGINT", time.Since(sent))
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Fatalf("got %v, want exit status 130; stderr: %s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "-: interrupted after frame 2") {
				t.Errorf("stderr %q does not say where the input was cut", stderr.String())
			}
			var rep report.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout.String())
			}
			if len(rep.Findings) != 1 || rep.Findings[0].Frame != 2 {
				t.Errorf("got findings %+v, want frame 2's", rep.Findings)
			}
			if len(rep.Summary.Files) != 1 || !rep.Summary.Files[0].Interrupted {
				t.Errorf("got files %+v, want one marked interrupted", rep.Summary.Files)
			}
		})
	}
}
