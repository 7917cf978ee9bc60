package main

import (
	"testing"
	"time"

	"github.com/rstscope/rstscope/report"
)

// TestWatchLineLog: with --logs, watch's text line ends with the best
// joined line, its place and its text quoted (the text is already made
// safe to print; quoting keeps the line one key=value line).
func TestWatchLineLog(t *testing.T) {
	f := report.Finding{Time: time.Date(2026, 11, 30, 8, 13, 37, 512000000, time.UTC), Direction: "sent", From: "10.78.0.2:8080",
		Client: "10.78.0.1:33401", Server: "10.78.0.2:8080", Cause: "application-abort", Sender: "server", Context: "process", PID: 7, Command: "nginx",
		Logs: []report.LogLine{{File: "/var/log/nginx/access.log", Line: 12, Text: `10.78.0.1:33401 - [30/Nov/2026:08:13:37 +0000] "GET / HTTP/1.1" 408`, MatchedBy: "time+client"}}}
	got := string(appendLine(nil, &f))
	want := `08:13:37.512000 sent 10.78.0.2:8080 > 10.78.0.1:33401 application-abort sender=server pid=7 comm=nginx log=/var/log/nginx/access.log:12 "10.78.0.1:33401 - [30/Nov/2026:08:13:37 +0000] \"GET / HTTP/1.1\" 408"` + "\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestWatchLogFlagsBad(t *testing.T) {
	for _, l := range []watchLogFlags{
		{paths: []string{"/nonexistent/rstscope.log"}, tz: "UTC"},
		{paths: []string{"."}, tz: "Nowhere/Else"},
		{paths: []string{"."}, tz: "UTC", wait: time.Hour},
	} {
		if _, _, err := l.start(func(report.Finding) {}, nil); err == nil {
			t.Errorf("%+v: got no error", l)
		}
	}
}
