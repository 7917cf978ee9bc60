package diagnose

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/applog"
	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// TestLiveLogs: a finding waits for the line its program writes after the
// reset, gets it when due (haproxy's sH-- decides idle-timeout, as in
// analyze), and findings leave in the order they came.
func TestLiveLogs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "haproxy.log")
	if err := os.WriteFile(p, []byte("old line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tail, err := applog.Follow([]string{p}, applog.Options{Time: applog.TimeOptions{Loc: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	live := NewLiveLogs(tail, DefaultLogOptions, time.Second)
	reset := finding("2026-11-30T06:06:53.685906Z", "10.77.0.2:45904", "10.77.0.3:9000", "10.77.0.2:45904", cause.ApplicationAbort)
	other := finding("2026-11-30T06:06:53.9Z", "10.77.0.5:1000", "10.77.0.6:80", "10.77.0.6:80", cause.ApplicationAbort)
	arrived := reset.Time.Add(250 * time.Millisecond)
	live.Hold(reset, arrived)
	live.Hold(other, arrived)
	var got []report.Finding
	emit := func(f report.Finding) { got = append(got, f) }
	if err := live.Release(arrived.Add(500*time.Millisecond), emit); err != nil || len(got) != 0 {
		t.Fatalf("before the wait: got %d findings (err %v), want 0", len(got), err)
	}
	// haproxy writes its line when the session ends.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(haproxyLog)
	f.Close()
	if err := live.Release(reset.Time.Add(time.Second), emit); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("at the wait's end: got %d findings, want the first", len(got))
	}
	if err := live.Release(time.Time{}, emit); err != nil || len(got) != 2 || live.Held() != 0 {
		t.Fatalf("at the end: got %d findings, %d held (err %v), want 2, 0", len(got), live.Held(), err)
	}
	g := got[0]
	if len(g.Logs) == 0 || g.Logs[0].Line != 2 || g.Logs[0].MatchedBy != "time+session" {
		t.Fatalf("got lines %+v, want haproxy.log:2 (the sH-- line) by time+session", g.Logs)
	}
	if g.Cause != cause.IdleTimeout {
		t.Errorf("got cause %s, want %s (haproxy's sH--)", g.Cause, cause.IdleTimeout)
	}
	if got[1].Client != other.Client || len(got[1].Logs) != 0 {
		t.Errorf("second finding: got %s with %d lines, want %s with none", got[1].Client, len(got[1].Logs), other.Client)
	}
}

// TestLiveLogsOwner: with Owners set, the log file the reset's process
// has open for writing is followed, from before its end: the line the
// process wrote before its file was found joins.
func TestLiveLogsOwner(t *testing.T) {
	root := t.TempDir()
	logPath := filepath.Join(root, "var/log/app.log")
	fdDir := filepath.Join(root, "proc/77/fd")
	for _, d := range []string{filepath.Dir(logPath), fdDir, filepath.Join(root, "proc/77/fdinfo")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	line := "2026/11/30 06:06:53 http: read tcp 10.77.0.2:8001->10.77.0.1:40453: read: connection reset by peer\n"
	if err := os.WriteFile(logPath, []byte("2026/11/30 06:00:00 started\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/var/log/app.log", filepath.Join(fdDir, "5")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "proc/77/fdinfo/5"), []byte("pos:\t0\nflags:\t02102001\n"), 0o644)
	tail, err := applog.Follow(nil, applog.Options{Time: applog.TimeOptions{Loc: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	live := NewLiveLogs(tail, DefaultLogOptions, time.Second)
	live.Owners = &applog.Locator{Root: root}
	f := finding("2026-11-30T06:06:53.2Z", "10.77.0.1:40453", "10.77.0.2:8001", "10.77.0.1:40453", cause.ApplicationAbort)
	f.PID, f.Command = 77, "app"
	live.Hold(f, f.Time.Add(300*time.Millisecond))
	var got []report.Finding
	if err := live.Release(time.Time{}, func(f report.Finding) { got = append(got, f) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Logs) != 1 || got[0].Logs[0].Line != 2 || got[0].Logs[0].MatchedBy != "time+connection" {
		t.Fatalf("got %+v, want app.log:2 joined by time+connection", got)
	}
}

// TestLiveLogsJournal: a process writing no log files of its own has its
// unit's journal read around the reset (journalctl -o json, faked here),
// once for the resets of a few seconds.
func TestLiveLogsJournal(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc/88"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "proc/88/cgroup"), []byte("0::/system.slice/api.service\n"), 0o644)
	runs := 0
	var args []string
	loc := &applog.Locator{Root: root, Journal: func(_ context.Context, a []string) (io.ReadCloser, error) {
		runs++
		args = a
		// journalctl -o json, as systemd 252 writes it (fields trimmed).
		return io.NopCloser(strings.NewReader(
			`{"__REALTIME_TIMESTAMP":"1796018813400000","_SYSTEMD_UNIT":"api.service","MESSAGE":"read tcp 10.77.0.2:8001->10.77.0.1:40453: read: connection reset by peer"}` + "\n")), nil
	}}
	tail, err := applog.Follow(nil, applog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	live := NewLiveLogs(tail, DefaultLogOptions, time.Second)
	live.Owners = loc
	defer live.Close()
	var got []report.Finding
	for _, at := range []string{"2026-11-30T06:06:53.2Z", "2026-11-30T06:06:54.5Z"} {
		f := finding(at, "10.77.0.1:40453", "10.77.0.2:8001", "10.77.0.1:40453", cause.ApplicationAbort)
		f.PID, f.Command = 88, "api"
		live.Hold(f, f.Time.Add(300*time.Millisecond))
	}
	if err := live.Release(time.Time{}, func(f report.Finding) { got = append(got, f) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d findings, want 2", len(got))
	}
	for i, f := range got {
		if len(f.Logs) != 1 || f.Logs[0].File != "journal of unit api.service" || f.Logs[0].MatchedBy != "time+connection" {
			t.Errorf("finding %d: got lines %+v, want the journal's line by time+connection", i, f.Logs)
		}
	}
	if runs != 1 || !slices.Contains(args, "api.service") {
		t.Errorf("journalctl ran %d times with %q, want once for -u api.service", runs, args)
	}
}
