//go:build linux

package main

// haproxy as the CLIENT: an haproxy 2.6 in the client's namespace, in front
// of an nginx of its own in the server's namespace, with `option nolinger`
// on its backends, so that haproxy ends its server-side connections with
// SO_LINGER 0 after reading whole responses — real software on the side of
// the undecidable shape (a client that resets right after reading the
// server's data, its window unchanged) that the project's synthetic harness
// makes and every real client measured before made by closing with data
// unread. Requests come from curl over the client namespace's loopback
// (never on the captured veth); the connections scored are haproxy's to
// nginx, whose source ports haproxy picks: a SYN watch (clients.go) logs
// every SYN to the kind's nginx port as one connection of the kind.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The haproxy-as-client nginx's ports in the server's namespace (one per
// kind, so the SYN watch tells the kinds apart) and haproxy's frontends on
// the client's loopback (front → the server's IPv4 address, front+1 → its
// IPv6 one).
const (
	hbNginxClose = 8380 // nginx behind the server-close backend
	hbNginxPool  = 8381 // nginx behind the pooled backend
	hbNginxNever = 8382 // nginx behind the http-reuse never backend
	hbFrontClose = 8390 // 127.0.0.1:8390 → S4:8380, :8391 → [S6]:8380
	hbFrontPool  = 8392 // 127.0.0.1:8392 → S4:8381, :8393 → [S6]:8381
	hbFrontNever = 8394 // 127.0.0.1:8394 → S4:8382, :8395 → [S6]:8382
)

var hbNginx struct {
	sync.Once
	err error
}

// startHBNginx starts the nginx behind haproxy in the server's namespace
// (mkrealtruth.sh kills it with every process there at the end): a
// keep-alive timeout of 75 s and 1 000 requests, so that haproxy, not nginx,
// ends every connection.
func (d *driver) startHBNginx() error {
	hbNginx.Do(func() {
		html := filepath.Join(d.srvDir, "html")
		s4, s6 := d.addr4.String(), d.addr6.String()
		var srv strings.Builder
		for _, p := range []int{hbNginxClose, hbNginxPool, hbNginxNever} {
			fmt.Fprintf(&srv, "    server { listen %s:%d backlog=1024; listen [%s]:%d backlog=1024; }\n", s4, p, s6, p)
		}
		conf := fmt.Sprintf(`worker_processes 1;
error_log %[1]s/nginx-hb-error.log info;
pid %[1]s/nginx-hb.pid;
user root;
events { worker_connections 4096; }
http {
    access_log %[1]s/nginx-hb-access.log;
    root %[2]s;
    keepalive_timeout 75s;
    keepalive_requests 1000;
%[3]s}
`, d.srvDir, html, srv.String())
		name := filepath.Join(d.srvDir, "nginx-hb.conf")
		if err := os.WriteFile(name, []byte(conf), 0o644); err != nil {
			hbNginx.err = err
			return
		}
		hbNginx.err = d.startDaemon("nginx-hb", []string{"ip", "netns", "exec", d.srvNS, "nginx", "-c", name, "-g", "daemon off;"},
			func() bool { return listening(d.srvNS, hbNginxNever) >= 2 })
	})
	return hbNginx.err
}

// listening counts the listening sockets on port in namespace ns ("" for
// this one).
func listening(ns string, port int) int {
	argv := []string{"ss", "-Htln", "sport", "=", ":" + strconv.Itoa(port)}
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	b, _ := exec.Command(argv[0], argv[1:]...).Output()
	return strings.Count(string(b), "\n")
}

// startDaemon starts argv with its output in srvDir/name.out and waits (5 s
// at most) for ready.
func (d *driver) startDaemon(name string, argv []string, ready func() bool) error {
	out, err := os.Create(filepath.Join(d.srvDir, name+".out"))
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	go func() { cmd.Wait(); out.Close() }()
	for range 100 {
		if ready() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(d.srvDir, name+".out"))
	return fmt.Errorf("%s did not start: %s", name, b)
}

// hbHaproxy starts an haproxy in this (the client's) namespace with
// frontend lines fe and the backend lines be, for kind k: 127.0.0.1:front
// goes to the server's IPv4 address at nginx port np, 127.0.0.1:front+1 to
// its IPv6 address. It returns a function that stops it.
func (d *driver) hbHaproxy(k string, front, np int, fe, be []string) (func(), error) {
	if err := d.startHBNginx(); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global
    log stdout format raw local0 notice
    maxconn 2000
defaults
    log global
    mode http
    option httplog
    timeout connect 5s
    timeout client 10s
    timeout server 10s
`)
	for j, srv := range []string{d.addr4.String(), "[" + d.addr6.String() + "]"} {
		fmt.Fprintf(&b, "frontend fe%d\n    bind 127.0.0.1:%d\n", j, front+j)
		for _, l := range fe {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		fmt.Fprintf(&b, "    default_backend be%d\nbackend be%d\n", j, j)
		for _, l := range be {
			fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(l, "SERVER", fmt.Sprintf("%s:%d", srv, np)))
		}
	}
	name := filepath.Join(d.srvDir, "haproxy-"+k+".cfg")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("haproxy", "-f", name, "-db")
	logName := filepath.Join(d.srvDir, "haproxy-"+k+".log")
	out, err := os.Create(logName)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	for range 100 {
		if listening("", front) >= 1 && listening("", front+1) >= 1 {
			// A directive haproxy ignores would make the kind measure
			// something else than it says.
			if lb, _ := os.ReadFile(logName); strings.Contains(string(lb), "WARNING") {
				stop()
				return nil, fmt.Errorf("haproxy ignored part of its configuration: %s", lb)
			}
			return stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	lb, _ := os.ReadFile(logName)
	return nil, fmt.Errorf("haproxy (client) did not start: %s", lb)
}

// hbRun is a kind's batch: haproxy started with fe and be, the SYN watch on
// nginx port np, run(i) for i in [0, n) with conc at once, then linger (the
// pool's idle connections purged) before haproxy is stopped.
func hbRun(k string, front, np, conc int, linger time.Duration, fe, be []string, run func(d *driver, i int, front int) error) func(d *driver, n int) error {
	return func(d *driver, n int) error {
		stop, err := d.hbHaproxy(k, front, np, fe, be)
		if err != nil {
			return err
		}
		defer stop()
		w, err := d.watchSYNs(k, []int{np})
		if err != nil {
			return err
		}
		defer w.stop()
		d.pool(k, n, conc, func(i int) error {
			f := front
			if d.v6(k, i) {
				f++
			}
			return run(d, i, f)
		})
		time.Sleep(linger)
		return nil
	}
}

// hbCurl: curl asks haproxy (on the loopback) for 1–3 URLs on one
// connection, then closes it.
func hbCurl(k string) func(d *driver, i, front int) error {
	return func(d *driver, i, front int) error {
		r := d.rng(k, i)
		argv := []string{"-s", "-m", "5"}
		for j := range 1 + r.IntN(3) {
			if j > 0 {
				argv = append(argv, "--next")
			}
			argv = append(argv, "-s", "-m", "5", "-o", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d/small", front))
		}
		// Spread over time as independent clients are, not in lockstep.
		time.Sleep(time.Duration(r.IntN(200)) * time.Millisecond)
		return exec.Command("curl", argv...).Run()
	}
}

// hbproxyServerClose: `option http-server-close` and `http-reuse never`:
// each request gets a backend connection of its own, which haproxy closes
// once the response is read — with SO_LINGER 0 (option nolinger). haproxy
// asks nginx for Connection: close, so nginx's FIN races haproxy's close: a
// reset when haproxy closes first (or the FIN is still in flight), a clean
// close when the FIN is read first.
var hbproxyServerClose = hbRun("hbproxy-server-close", hbFrontClose, hbNginxClose, 4, 500*time.Millisecond,
	[]string{"option http-server-close"},
	[]string{"option nolinger", "option http-server-close", "http-reuse never", "server n1 SERVER"},
	hbCurl("hbproxy-server-close"))

// hbproxyReuseNever: keep-alive on both sides with `http-reuse never`: the
// backend connection belongs to curl's connection (its 1–3 requests), and
// haproxy closes it, with SO_LINGER 0, when curl closes — nginx (75 s
// keep-alive) has sent no FIN.
var hbproxyReuseNever = hbRun("hbproxy-reuse-never", hbFrontNever, hbNginxNever, 4, 500*time.Millisecond,
	[]string{"option http-keep-alive"},
	[]string{"option nolinger", "option http-keep-alive", "http-reuse never", "server n1 SERVER"},
	hbCurl("hbproxy-reuse-never"))

// hbproxyIdlePurge: keep-alive backend connections shared through the
// idle pool (http-reuse safe), purged when idle (pool-purge-delay 1s: half
// of them each second) — with SO_LINGER 0 (option nolinger). The kind
// waits 6 s at the end for the pool to empty.
var hbproxyIdlePurge = hbRun("hbproxy-idle-purge", hbFrontPool, hbNginxPool, 4, 6*time.Second,
	[]string{"option http-keep-alive", "timeout http-keep-alive 500ms"},
	[]string{"option nolinger", "option http-keep-alive", "http-reuse safe", "timeout server 1s", "server n1 SERVER pool-purge-delay 1s"},
	hbCurl("hbproxy-idle-purge"))
