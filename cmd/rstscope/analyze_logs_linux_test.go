package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
)

const labHAProxyCfg = `global
    log stdout format raw local0
defaults
    log global
    mode http
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 1s
frontend fe
    bind 10.77.0.2:8001
    default_backend be
backend be
    server s1 10.77.0.3:9000 source 10.77.0.2
`

const labNginxConf = `worker_processes 1;
error_log DIR/logs/nginx-error.log info;
pid DIR/nginx.pid;
user root;
events { worker_connections 64; }
http {
    access_log DIR/logs/nginx-access.log combined;
    client_body_temp_path DIR/tmp;
    proxy_temp_path DIR/tmp;
    server {
        listen 10.77.0.2:8080;
        location /reset { proxy_pass http://10.77.0.3:9001; proxy_bind 10.77.0.2; }
        location /slow { proxy_pass http://10.77.0.3:9000; proxy_bind 10.77.0.2; proxy_read_timeout 5s; }
    }
}
`

// TestAnalyzeLogsLabRealSoftware runs nginx and haproxy (the Debian
// packages scripts/setup.sh installs) in a network namespace, makes four
// kinds of reset happen, captures them with tcpdump, and checks that
// analyze --logs joins to each reset the line the software wrote about it.
// With -update it keeps the capture, the logs and the client's notes in
// testdata/applog for TestAnalyzeLogsLabFixture.
func TestAnalyzeLogsLabRealSoftware(t *testing.T) {
	testutil.RequireRoot(t)
	for _, bin := range []string{"nginx", "haproxy", "tcpdump", "ip"} {
		testutil.LookTool(t, bin, "scripts/setup.sh installs it")
	}
	t.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin")
	ns := fmt.Sprintf("applog-%d", os.Getpid())
	logLabNS(t, ns, "10.77.0.1", "10.77.0.2", "10.77.0.3")

	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	for _, d := range []string{logDir, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "haproxy.cfg"), []byte(labHAProxyCfg), 0o644)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(strings.ReplaceAll(labNginxConf, "DIR", dir)), 0o644)

	// The servers behind the proxies: 9000 reads and never answers, 9001
	// reads the request and resets (SO_LINGER 0).
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	for _, p := range []struct {
		addr  string
		reset bool
	}{{"10.77.0.3:9000", false}, {"10.77.0.3:9001", true}} {
		ln, err := testutil.InNetNS(t, ns, func() (net.Listener, error) { return net.Listen("tcp4", p.addr) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					c.Read(make([]byte, 4096))
					if p.reset {
						c.(*net.TCPConn).SetLinger(0)
						c.Close()
						return
					}
					<-stop
					c.Close()
				}()
			}
		}()
	}

	start := func(name string, out io.Writer, args ...string) *exec.Cmd {
		t.Helper()
		return startInNS(t, ns, name, out, args...)
	}
	hlog, err := os.Create(filepath.Join(logDir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer hlog.Close()
	start("haproxy", hlog, "haproxy", "-f", filepath.Join(dir, "haproxy.cfg"), "-db")
	nout, _ := os.Create(filepath.Join(dir, "nginx.out"))
	defer nout.Close()
	start("nginx", nout, "nginx", "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	capPath := filepath.Join(dir, "lab.pcap")
	stopCapture := startTCPDump(t, ns, capPath, "tcp")
	for _, a := range []string{"10.77.0.2:8001", "10.77.0.2:8080"} {
		if err := waitListening(t, ns, a); err != nil {
			t.Fatalf("%s: %v (haproxy log: %s)", a, err, readFile(filepath.Join(logDir, "haproxy.log")))
		}
	}

	var truth labTruth
	truth.HAProxyTimeout = clientExchange(t, ns, "10.77.0.2:8001", "/", false)
	time.Sleep(4 * time.Second) // apart by more than the join window and nginx's whole-second times
	truth.NginxUpstreamReset = clientExchange(t, ns, "10.77.0.2:8080", "/reset", false)
	time.Sleep(4 * time.Second)
	truth.HAProxyClientAbort = clientExchange(t, ns, "10.77.0.2:8001", "/", true)
	time.Sleep(4 * time.Second) // haproxy's server timeout ends the session meanwhile
	truth.NginxClientAbort = clientExchange(t, ns, "10.77.0.2:8080", "/slow", true)
	stopCapture()

	checkLabJoin(t, capPath, logDir, truth)

	if *testutil.Update && !t.Failed() {
		keep := filepath.Join(testutil.ModuleRoot(t), "testdata", "applog")
		os.MkdirAll(filepath.Join(keep, "logs"), 0o755)
		for _, f := range []string{"lab.pcap", "logs/haproxy.log", "logs/nginx-error.log", "logs/nginx-access.log"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(keep, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		raw, _ := json.MarshalIndent(truth, "", "  ")
		os.WriteFile(filepath.Join(keep, "truth.json"), append(raw, '\n'), 0o644)
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func waitListening(t *testing.T, ns, addr string) error {
	t.Helper()
	var err error
	for range 50 {
		_, err = testutil.InNetNS(t, ns, func() (struct{}, error) {
			c, err := net.DialTimeout("tcp4", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return struct{}{}, err
		})
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// clientExchange sends one HTTP request from 10.77.0.1 and either reads
// the answer or, with abort, resets the connection 300 ms later.
func clientExchange(t *testing.T, ns, addr, path string, abort bool) exchange {
	t.Helper()
	e := exchange{Start: time.Now()}
	_, err := testutil.InNetNS(t, ns, func() (struct{}, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(10, 77, 0, 1)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp4", addr)
		if err != nil {
			return struct{}{}, err
		}
		e.ClientPort = c.LocalAddr().(*net.TCPAddr).Port
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", path)
		if abort {
			time.Sleep(300 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			return struct{}{}, c.Close()
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
		return struct{}{}, c.Close()
	})
	if err != nil {
		t.Fatalf("client to %s%s: %v", addr, path, err)
	}
	e.End = time.Now()
	return e
}
