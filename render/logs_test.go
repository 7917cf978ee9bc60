package render

import (
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/report"
)

// TestTextLogLines: the best two joined lines under a finding, escaped,
// and a count of the rest.
func TestTextLogLines(t *testing.T) {
	at := time.Date(2026, 11, 30, 6, 17, 43, 535000000, time.UTC)
	f := &report.Finding{Logs: []report.LogLine{
		{File: "haproxy.log", Line: 2, Time: at, Text: `10.77.0.1:42343 [30/Nov/2026:06:17:42.534] fe be/s1 0/0/0/-1/1001 504 198 - - sH--`, MatchedBy: "time+session"},
		{File: "evil.log", Line: 7, Time: at, Text: "owned \x1b[2J\x1b]0;title\x07 \xff " + strings.Repeat("x", 300), MatchedBy: "time"},
		{File: "third.log", Line: 1, Time: at, Text: "c", MatchedBy: "time"},
	}}
	var b strings.Builder
	Text{}.logLines(&b, f, "    ")
	lines := strings.Split(b.String(), "\n")
	if want := "      log haproxy.log:2 06:17:43.535 [time+session] 10.77.0.1:42343 [30/Nov/2026:06:17:42.534] fe be/s1 0/0/0/-1/1001 504 198 - - sH--"; lines[0] != want {
		t.Errorf("line 1: got %q, want %q", lines[0], want)
	}
	if want := `      log evil.log:7 06:17:43.535 [time] owned \x1b[2J\x1b]0;title\x07 \xff xxx`; !strings.HasPrefix(lines[1], want) || !strings.HasSuffix(lines[1], "x…") || len(lines[1]) > 260 {
		t.Errorf("line 2: got %q, want it escaped and cut near 200 bytes of text", lines[1])
	}
	if strings.ContainsAny(b.String(), "\x1b\x07") || strings.Contains(b.String(), "\xff") {
		t.Error("raw control bytes in the output")
	}
	if want := "      (1 more log lines in the JSON output)"; lines[2] != want || len(lines) != 4 {
		t.Errorf("got %d lines, third %q; want %q", len(lines), lines[2], want)
	}
}

// TestHTMLLogLines: the joined lines sit beside the ladder, escaped by
// html/template.
func TestHTMLLogLines(t *testing.T) {
	at := time.Date(2026, 11, 30, 6, 17, 43, 535000000, time.UTC)
	r := &report.Report{Findings: []report.Finding{{Time: at, Frame: 3, Client: "10.0.0.1:5000", Server: "10.0.0.2:80", From: "10.0.0.1:5000", Cause: "application-abort", Sender: "client",
		Logs: []report.LogLine{{File: "evil.log", Line: 7, Time: at, Text: `<script>alert(1)</script>`, MatchedBy: "time+client"}}}}}
	r.Tally()
	var b strings.Builder
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<code>evil.log:7</code> 2026-11-30 06:17:43.535000 UTC") || !strings.Contains(b.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the log line is missing or not escaped:\n%s", b.String())
	}
}
