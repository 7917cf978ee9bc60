package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// labTruth is what the lab's client knew while it made the resets: the
// client ports it used and when each exchange ran. The root test writes it
// beside the capture and the logs nginx and haproxy wrote.
type labTruth struct {
	// HAProxyTimeout: a request through haproxy to a server that never
	// answers; "timeout server 1s" makes haproxy reset its server
	// connection and log sH--.
	HAProxyTimeout exchange `json:"haproxy_timeout"`
	// NginxUpstreamReset: a request through nginx to a server that resets.
	NginxUpstreamReset exchange `json:"nginx_upstream_reset"`
	// HAProxyClientAbort: the client resets its haproxy connection while
	// haproxy waits for the server.
	HAProxyClientAbort exchange `json:"haproxy_client_abort"`
	// NginxClientAbort: the client resets its nginx connection while nginx
	// waits for the upstream.
	NginxClientAbort exchange `json:"nginx_client_abort"`
}

type exchange struct {
	ClientPort int       `json:"client_port"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
}

// lineOf returns the 1-based number of the first line of file holding
// every one of subs: the ground truth, found with plain string search in
// what the software wrote, not with the code under test.
func lineOf(t *testing.T, file string, subs ...string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(sc.Text(), s)
		}
		if ok {
			return n
		}
	}
	t.Fatalf("%s has no line with %q", file, subs)
	return 0
}

// checkLabJoin runs analyze --logs on a lab capture and checks that each
// reset got the line its software wrote about it, in JSON (joined with
// every finding in hand) and NDJSON (joined while streaming).
func checkLabJoin(t *testing.T, capture, logDir string, truth labTruth) {
	t.Helper()
	for _, format := range []string{"json", "ndjson"} {
		t.Run(format, func(t *testing.T) { checkLabJoinFormat(t, format, capture, logDir, truth) })
	}
}

func checkLabJoinFormat(t *testing.T, format, capture, logDir string, truth labTruth) {
	t.Helper()
	out, stderr, err := analyzeCmd(t, "--format", format, "--log-tz", "UTC", "--logs", logDir, capture)
	if err != nil {
		t.Fatalf("analyze: %v\n%s", err, stderr)
	}
	var rep report.Report
	if format == "ndjson" {
		rep.Findings = ndjsonFindings(t, out)
	} else if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("decoding the JSON report: %v", err)
	}
	hap := filepath.Join(logDir, "haproxy.log")
	nerr := filepath.Join(logDir, "nginx-error.log")
	nacc := filepath.Join(logDir, "nginx-access.log")
	port := func(e exchange) string { return "10.77.0.1:" + itoa(e.ClientPort) }

	find := func(what string, ok func(f *report.Finding) bool) *report.Finding {
		t.Helper()
		var got *report.Finding
		for i := range rep.Findings {
			if ok(&rep.Findings[i]) {
				if got != nil {
					t.Fatalf("%s: two resets fit: frames %d and %d", what, got.Frame, rep.Findings[i].Frame)
				}
				got = &rep.Findings[i]
			}
		}
		if got == nil {
			t.Fatalf("%s: no such reset among %d findings", what, len(rep.Findings))
		}
		return got
	}
	has := func(f *report.Finding, file string, line int, by string) bool {
		for _, l := range f.Logs {
			if l.File == file && l.Line == line && (by == "" || l.MatchedBy == by) {
				return true
			}
		}
		return false
	}
	within := func(f *report.Finding, e exchange) bool {
		return !f.Time.Before(e.Start) && !f.Time.After(e.End.Add(200*time.Millisecond))
	}

	// haproxy's server timeout: the reset haproxy sent its server, joined
	// to the session's sH-- line, which decides idle-timeout.
	a := find("haproxy's reset to its server", func(f *report.Finding) bool {
		return f.Server == "10.77.0.3:9000" && f.From == f.Client && within(f, truth.HAProxyTimeout)
	})
	if want := lineOf(t, hap, port(truth.HAProxyTimeout)+" ", "sH--"); !has(a, hap, want, "time+session") {
		t.Errorf("haproxy timeout: logs %+v, want %s:%d by time+session", a.Logs, hap, want)
	}
	if a.Cause != "idle-timeout" || !strings.Contains(strings.Join(a.Evidence, "\n"), "termination state sH") {
		t.Errorf("haproxy timeout: cause %s, evidence %q; want idle-timeout from haproxy's sH", a.Cause, a.Evidence)
	}

	// nginx's upstream reset: joined by the upstream's address to nginx's
	// recv() failed line.
	b := find("the upstream's reset to nginx", func(f *report.Finding) bool {
		return f.Server == "10.77.0.3:9001" && f.From == f.Server
	})
	if want := lineOf(t, nerr, "recv() failed (104: Connection reset by peer)", "/reset"); !has(b, nerr, want, "time+server") {
		t.Errorf("nginx upstream reset: logs %+v, want %s:%d by time+server", b.Logs, nerr, want)
	}

	// The client's abort through haproxy: joined by its own address and
	// port; the session's server-side sH-- must not make it a timeout.
	c := find("the client's reset to haproxy", func(f *report.Finding) bool { return f.From == port(truth.HAProxyClientAbort) })
	if want := lineOf(t, hap, port(truth.HAProxyClientAbort)+" "); !has(c, hap, want, "time+client") {
		t.Errorf("haproxy client abort: logs %+v, want %s:%d by time+client", c.Logs, hap, want)
	}
	for _, l := range c.Logs {
		if l.File != hap {
			t.Errorf("haproxy client abort: joined %s:%d (%s), a line about another connection", l.File, l.Line, l.MatchedBy)
		}
	}
	if c.Cause == "idle-timeout" {
		t.Errorf("haproxy client abort: cause %s, want the wire's verdict kept (the client aborted)", c.Cause)
	}

	// The client's abort through nginx: the access log's 499 and the
	// error log's "client prematurely closed connection".
	d := find("the client's reset to nginx", func(f *report.Finding) bool { return f.From == port(truth.NginxClientAbort) })
	if want := lineOf(t, nacc, " 499 ", "/slow"); !has(d, nacc, want, "") {
		t.Errorf("nginx client abort: logs %+v, want %s:%d", d.Logs, nacc, want)
	}
	if want := lineOf(t, nerr, "client prematurely closed connection"); !has(d, nerr, want, "") {
		t.Errorf("nginx client abort: logs %+v, want %s:%d", d.Logs, nerr, want)
	}
}

// TestAnalyzeLogsLabFixture runs the join on the capture and logs the root
// test recorded from real nginx 1.22 and haproxy 2.6 (testdata/applog,
// rewritten by go test -run LabRealSoftware -update as root).
func TestAnalyzeLogsLabFixture(t *testing.T) {
	dir := filepath.Join(testutil.ModuleRoot(t), "testdata", "applog")
	raw, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Skipf("no recorded lab run: %v", err)
	}
	var truth labTruth
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	checkLabJoin(t, filepath.Join(dir, "lab.pcap"), filepath.Join(dir, "logs"), truth)
}

func TestAnalyzeLogsBadInput(t *testing.T) {
	cap := captureFile(t, "closed-port.pcap")
	if _, err := os.Stat(cap); err != nil {
		entries, _ := filepath.Glob(filepath.Join(filepath.Dir(cap), "*.pcap*"))
		if len(entries) == 0 {
			t.Skip("no capture in testdata/capture")
		}
		cap = entries[0]
	}
	_, _, err := analyzeCmd(t, "--logs", "/nonexistent/app.log", cap)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/app.log") || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("got %v, want one line naming the missing log", err)
	}
	_, _, err = analyzeCmd(t, "--logs", cap, "--log-tz", "Mars/Olympus", cap)
	if err == nil || !strings.Contains(err.Error(), "--log-tz") {
		t.Errorf("got %v, want a --log-tz error", err)
	}
}

// TestAnalyzeLogsSkippedSaid: a binary file in a --logs directory is not
// read, and analyze says so on stderr (one line naming it) rather than
// dropping it silently; the readable log beside it still counts.
func TestAnalyzeLogsSkippedSaid(t *testing.T) {
	cap := captureFile(t, "lo-resets.pcap")
	dir := t.TempDir()
	bin := filepath.Join(dir, "core.bin")
	if err := os.WriteFile(bin, []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte("2026-11-30T05:00:01Z started\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := analyzeCmd(t, "--format", "json", "--logs", dir, cap)
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	var said []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "--logs: skipped") {
			said = append(said, l)
		}
	}
	if len(said) != 1 || !strings.Contains(said[0], bin) {
		t.Errorf("stderr %q: want one line saying %s was skipped", stderr, bin)
	}
}
