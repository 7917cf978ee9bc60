package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// watchNginxConf: nginx resets a client that stops sending its request
// headers (client_header_timeout with reset_timedout_connection: an abort
// from nginx's own process), and its access log names the client's port.
const watchNginxConf = `worker_processes 1;
error_log DIR/logs/error.log info;
pid DIR/nginx.pid;
user root;
events { worker_connections 64; }
http {
    log_format withport '$remote_addr:$remote_port - [$time_local] "$request" $status';
    access_log DIR/logs/access.log withport;
    client_body_temp_path DIR/tmp;
    client_header_timeout 1s;
    reset_timedout_connection on;
    server {
        listen 10.78.0.2:8080;
        location / { return 200 "ok\n"; }
    }
}
`

// TestWatchLogsNginx runs nginx (the Debian package scripts/setup.sh
// installs) in a network namespace, has it reset a client whose request
// never ends, and wants watch --logs on nginx's log directory to give that
// reset's finding nginx as its process (the kernel's account of the
// socket's owner) and the access log line nginx wrote about that very
// client's address and port, which it writes after the reset.
func TestWatchLogsNginx(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LookTool(t, "nginx", "scripts/setup.sh installs it")
	t.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin")
	ns := fmt.Sprintf("logs-watch-%d", os.Getpid())
	logLabNS(t, ns, "10.78.0.1", "10.78.0.2")
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	for _, d := range []string{logDir, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(strings.ReplaceAll(watchNginxConf, "DIR", dir)), 0o644)
	nout, _ := os.Create(filepath.Join(dir, "nginx.out"))
	defer nout.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, "nginx", "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = nout, nout
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	if err := waitListening(t, ns, "10.78.0.2:8080"); err != nil {
		t.Fatalf("nginx: %v\n%s", err, readFile(filepath.Join(dir, "nginx.out")))
	}

	for _, mode := range []struct {
		name string
		args []string
	}{
		{"--logs DIR", []string{"--logs", logDir}},
		{"--owner-logs: the files nginx has open", []string{"--owner-logs"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			watchNginxReset(t, ns, logDir, append([]string{"--netns", "/run/netns/" + ns, "--log-wait", "2s"}, mode.args...))
		})
	}
}

// watchNginxReset starts watch with args, has nginx reset a client and
// checks the finding: nginx as its process and nginx's access log line
// about that client joined.
func watchNginxReset(t *testing.T, ns, logDir string, args []string) {
	lw := startWatch(t, args...)
	defer lw.stop(t)

	// Half a request: nginx waits 1 s for the rest, then resets.
	clientPort := 0
	var readErr error
	if _, err := testutil.InNetNS(t, ns, func() (struct{}, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(10, 78, 0, 1)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp4", "10.78.0.2:8080")
		if err != nil {
			return struct{}{}, err
		}
		defer c.Close()
		clientPort = c.LocalAddr().(*net.TCPAddr).Port
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: lab\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, readErr = c.Read(make([]byte, 1024))
		return struct{}{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(readErr), "reset") {
		t.Fatalf("client read: got %v, want connection reset by peer (nginx did not reset)", readErr)
	}
	client := "10.78.0.1:" + strconv.Itoa(clientPort)

	var got *report.Finding
	var seen []string
	deadline := time.After(10 * time.Second)
	for got == nil {
		select {
		case f := <-lw.findings:
			seen = append(seen, fmt.Sprintf("%s %s>%s %s pid=%d comm=%s logs=%d", f.Time.Format("15:04:05.000"), f.From, f.Client, f.Cause, f.PID, f.Command, len(f.Logs)))
			if f.From == "10.78.0.2:8080" && f.Client == client {
				got = &f
			}
		case <-deadline:
			t.Fatalf("no finding for nginx's reset of %s within 10 s; saw:\n%s\nwatch stderr:\n%s", client, strings.Join(seen, "\n"), lw.stderr)
		}
	}
	if got.Command != "nginx" || got.PID == 0 {
		t.Errorf("got process pid %d comm %q, want nginx's", got.PID, got.Command)
	}
	access := readFile(filepath.Join(logDir, "access.log"))
	var want string
	for _, l := range strings.Split(access, "\n") {
		if strings.HasPrefix(l, client+" ") {
			want = l
		}
	}
	if want == "" {
		t.Fatalf("nginx's access log has no line for %s:\n%s", client, access)
	}
	found := false
	for _, l := range got.Logs {
		t.Logf("joined %s:%d %s %q", filepath.Base(l.File), l.Line, l.MatchedBy, l.Text)
		if filepath.Base(l.File) == "access.log" && l.Text == want {
			found = true
			if l.MatchedBy != "time+client" {
				t.Errorf("access log line matched by %s, want time+client", l.MatchedBy)
			}
		}
	}
	if !found {
		t.Errorf("finding %s %s (pid %d %s) lacks nginx's line %q; joined %d lines", got.Cause, got.KernelReason, got.PID, got.Command, want, len(got.Logs))
	}
	t.Logf("finding: %s %s by %s, reason %s, pid %d (%s), %d log lines; evidence %q", got.Cause, got.From, got.Sender, got.KernelReason, got.PID, got.Command, len(got.Logs), got.Evidence)
}
