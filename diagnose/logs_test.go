package diagnose

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/applog"
	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

func joinerFor(t *testing.T, logs map[string]string, o LogOptions) *LogJoiner {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, text := range logs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	o.Time.Loc = time.UTC
	j := OpenLogs(paths, o)
	if err := j.Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func finding(at, client, server, from string, c cause.ID) report.Finding {
	ts, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		panic(err)
	}
	return report.Finding{Time: ts, Client: client, Server: server, From: from, Sender: cause.Client, Cause: c, Confidence: 0.6,
		Evidence: []string{"wire"}, Advice: cause.Lookup(c).Advice}
}

// The log lines are those haproxy 2.6 and nginx 1.22 wrote in the lab (see
// cmd/rstscope's root test), with the resets tcpdump saw beside them.
const haproxyLog = `10.77.0.1:34390 [30/Nov/2026:06:06:52.681] fe be/s1 0/0/3/-1/1004 504 198 - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"
10.77.0.1:40453 [30/Nov/2026:06:07:23.574] fe be/s1 0/0/1/-1/1002 504 198 - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"
10.77.0.1:40999 [30/Nov/2026:06:07:24.000] fe be/s1 0/0/1/2/3 200 198 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"
`

const nginxError = `2026/11/30 06:06:53 [error] 32141#32141: *1 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.77.0.1, server: , request: "GET /reset HTTP/1.1", upstream: "http://10.77.0.3:9001/reset", host: "10.77.0.2:8080"
2026/11/30 06:06:53 [error] 32141#32141: *2 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.77.0.9, server: , request: "GET /other HTTP/1.1", upstream: "http://10.77.0.8:9999/other", host: "10.77.0.2:8080"
`

func TestAttach(t *testing.T) {
	j := joinerFor(t, map[string]string{"haproxy.log": haproxyLog, "error.log": nginxError}, DefaultLogOptions)
	tests := []struct {
		name      string
		f         report.Finding
		wantLine  string // file:line of the first joined line, "" none
		matchedBy string
		cause     cause.ID
	}{
		{"haproxy's server timeout joins the reset it sent its server", finding("2026-11-30T06:06:53.685906Z", "10.77.0.2:45904", "10.77.0.3:9000", "10.77.0.2:45904", cause.ApplicationAbort),
			"haproxy.log:1", "time+session", cause.IdleTimeout},
		{"the client's own abort in the same session keeps its cause", finding("2026-11-30T06:07:23.874837Z", "10.77.0.1:40453", "10.77.0.2:8001", "10.77.0.1:40453", cause.ApplicationAbort),
			"haproxy.log:2", "time+client", cause.ApplicationAbort},
		{"nginx's upstream reset joins by the upstream's address", finding("2026-11-30T06:06:53.748684Z", "10.77.0.2:56646", "10.77.0.3:9001", "10.77.0.3:9001", cause.ApplicationAbort),
			"error.log:1", "time+server", cause.ApplicationAbort},
		{"a line naming another connection is not joined", finding("2026-11-30T06:06:53.5Z", "10.77.0.5:1000", "10.77.0.6:80", "10.77.0.6:80", cause.ApplicationAbort),
			"", "", cause.ApplicationAbort},
		{"outside the window nothing joins", finding("2026-11-30T06:10:00Z", "10.77.0.2:56646", "10.77.0.3:9001", "10.77.0.3:9001", cause.ApplicationAbort),
			"", "", cause.ApplicationAbort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if err := j.Attach(&f); err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(f.Logs) > 0 {
				got = filepath.Base(f.Logs[0].File) + ":" + fmt.Sprint(f.Logs[0].Line)
				if f.Logs[0].MatchedBy != tt.matchedBy {
					t.Errorf("matched by %q, want %q", f.Logs[0].MatchedBy, tt.matchedBy)
				}
			}
			if got != tt.wantLine {
				t.Errorf("first line %q, want %q (all: %+v)", got, tt.wantLine, f.Logs)
			}
			if f.Cause != tt.cause {
				t.Errorf("cause %s, want %s; evidence %q", f.Cause, tt.cause, f.Evidence)
			}
			if f.Cause != tt.f.Cause && strings.Join(f.Advice, "") != strings.Join(cause.Lookup(f.Cause).Advice, "") {
				t.Errorf("advice not the new cause's: %q", f.Advice)
			}
		})
	}
}

// TestJoinAllOffset: the logs' clock runs 30 s ahead of the capture's; the
// lines naming each reset's client address and port reveal it.
func TestJoinAllOffset(t *testing.T) {
	var b strings.Builder
	var fs []report.Finding
	base := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	for i := range 5 {
		at := base.Add(time.Duration(i) * 10 * time.Second)
		port := 40000 + i
		start := at.Add(30*time.Second - 200*time.Millisecond)
		fmt.Fprintf(&b, "10.77.0.1:%d [%s] fe be/s1 0/0/1/-1/200 502 0 - - CD-- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n", port, start.Format("02/Jan/2006:15:04:05.000"))
		fs = append(fs, finding(at.Format(time.RFC3339Nano), fmt.Sprintf("10.77.0.1:%d", port), "10.77.0.2:8001", fmt.Sprintf("10.77.0.1:%d", port), cause.ApplicationAbort))
	}
	j := joinerFor(t, map[string]string{"haproxy.log": b.String()}, DefaultLogOptions)
	if err := j.JoinAll(fs); err != nil {
		t.Fatal(err)
	}
	if off, how := j.Offset(); off != 30*time.Second || !strings.Contains(how, "5 lines") {
		t.Errorf("offset %v (%s), want 30s estimated from 5 lines", off, how)
	}
	for i, f := range fs {
		if len(f.Logs) != 1 || f.Logs[0].Line != i+1 || f.Logs[0].MatchedBy != "time+client" {
			t.Errorf("reset %d: logs %+v, want line %d by time+client", i, f.Logs, i+1)
		}
	}
	// Without estimating, the 30 s gap leaves every reset alone.
	j2 := joinerFor(t, map[string]string{"haproxy.log": b.String()}, LogOptions{AutoOffset: false})
	f := fs[0]
	f.Logs = nil
	if err := j2.Attach(&f); err != nil || len(f.Logs) != 0 {
		t.Errorf("without an offset: logs %+v, err %v; want none", f.Logs, err)
	}
}

func TestAttachKeepsBest(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "2026/11/30 06:00:01.%06d read tcp 10.0.0.3:8080->10.0.0.%d:5000: read: connection reset by peer\n", i*1000, i+1)
	}
	fmt.Fprintf(&b, "2026/11/30 06:00:01.900000 read tcp 10.0.0.3:8080->10.0.0.7:5555: read: connection reset by peer\n")
	j := joinerFor(t, map[string]string{"app.log": b.String()}, DefaultLogOptions)
	f := finding("2026-11-30T06:00:01Z", "10.0.0.7:5555", "10.0.0.3:8080", "10.0.0.7:5555", cause.ApplicationAbort)
	if err := j.Attach(&f); err != nil {
		t.Fatal(err)
	}
	if len(f.Logs) != 1 || f.Logs[0].Line != 51 || f.Logs[0].MatchedBy != "time+connection" {
		t.Errorf("got %+v, want only line 51 (the one naming both endpoints)", f.Logs)
	}
	_ = applog.MaxText
}
