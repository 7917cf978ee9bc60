//go:build linux

package main

// Kinds driven by real client software whose source ports cannot be chosen
// (chromium, wget, ab, h2load, python3): each kind has server ports of its
// own on a second nginx (nginx-cli.conf, 8480–8499, started by the driver in
// the server's namespace at the first such kind), and a tcpdump of its own
// in the client's namespace logs every SYN to those ports as one connection
// of the kind, with the SYN's capture time as its start. A retransmitted SYN
// (same 4-tuple and sequence) is one connection.

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The client-software server's ports (nginx-cli.conf below).
const (
	cliPageLoad   = 8480 // many resources, keepalive_timeout 75s
	cliSlow       = 8481 // the same; /slow/ at limit_rate 32k (stop mid-load)
	cliNavigate   = 8482 // the same (navigate away mid-load)
	cliFetchAbort = 8483 // 16 MiB downloads, aborted
	cliPoll       = 8484 // keepalive_timeout 1s, a page polling every ~1 s
	cliPreconnect = 8485 // a page preconnecting to cliResetIdle
	cliResetIdle  = 8486 // client_header_timeout 1s (a preconnect's target)
	cliTLSLoad    = 8487 // TLS + HTTP/2 (self-signed), many resources
	cliTLSNav     = 8488 // TLS + HTTP/2, navigate away mid-load
	cliDownload   = 8489 // a 16 MiB download at limit_rate 2m
	cliKilled     = 8496 // many resources at limit_rate 32k, the browser SIGKILLed
	cliUpload413  = 8497 // client_max_body_size 1k (lingering_close on): uploads refused
	cliWgetKill   = 8490 // wget --limit-rate, interrupted
	cliWgetTmo    = 8491 // wget -T 1 on a request that hangs
	cliAB         = 8492 // ab -k -t 1 on 256 KiB
	cliPyPartial  = 8493 // python3 urllib, 64 KiB of 16 MiB read
	cliPyStale    = 8494 // python3 http.client, second request after keepalive_timeout 1s
	cliH2         = 8495 // h2load over cleartext HTTP/2 (prior knowledge)
)

var cliServer struct {
	sync.Once
	err error
}

// startCLIServer writes the second nginx's configuration and content and
// starts it in the server's namespace (mkrealtruth.sh kills it with every
// process there at the end).
func (d *driver) startCLIServer() error {
	cliServer.Do(func() { cliServer.err = d.startCLIServerOnce() })
	return cliServer.err
}

func (d *driver) startCLIServerOnce() error {
	html := filepath.Join(d.srvDir, "html")
	cli := filepath.Join(html, "cli")
	if err := os.MkdirAll(filepath.Join(cli, "r"), 0o755); err != nil {
		return err
	}
	// 60 resources of 8–64 KiB (the content does not matter to a browser
	// that only counts bytes), a 256 KiB one, 16 MiB from the main set.
	for j := range 60 {
		if err := os.WriteFile(filepath.Join(cli, "r", strconv.Itoa(j)), make([]byte, (8+j%8*8)<<10), 0o644); err != nil {
			return err
		}
	}
	os.WriteFile(filepath.Join(cli, "m256k"), make([]byte, 256<<10), 0o644)
	os.WriteFile(filepath.Join(cli, "small"), []byte(strings.Repeat("a", 512)), 0o644)
	os.Symlink(filepath.Join(html, "big"), filepath.Join(cli, "big"))
	for name, body := range browserPages {
		if err := os.WriteFile(filepath.Join(cli, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	s4, s6 := d.addr4.String(), d.addr6.String()
	key, crt := filepath.Join(d.srvDir, "tmp", "cli.key"), filepath.Join(d.srvDir, "tmp", "cli.crt")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-days", "2", "-subj", "/CN=realtruth", "-keyout", key, "-out", crt).CombinedOutput(); err != nil {
		return fmt.Errorf("openssl: %v: %s", err, out)
	}
	tls := fmt.Sprintf(" ssl_certificate %s; ssl_certificate_key %s;", crt, key)
	srvL := func(port int, flags, extra string) string {
		return fmt.Sprintf(`    server { listen %s:%d%s; listen [%s]:%d%s;%s
        location /slow/ { alias %s/; limit_rate 32k; }
        location /dl/ { alias %s/; limit_rate 2m; }
        location /trickle/ { alias %s/; limit_rate_after 16k; limit_rate 4k; }
        location /hang { proxy_pass http://%s:9999; proxy_connect_timeout 5s; }
    }
`, s4, port, flags, s6, port, flags, extra, cli, cli, cli, s4)
	}
	srv := func(port int, extra string) string { return srvL(port, "", extra) }
	conf := fmt.Sprintf(`worker_processes 1;
error_log %[1]s/nginx-cli-error.log info;
pid %[1]s/nginx-cli.pid;
user root;
events { worker_connections 4096; }
http {
    access_log %[1]s/nginx-cli-access.log;
    client_body_temp_path %[1]s/tmp;
    proxy_temp_path %[1]s/tmp;
    root %[2]s;
    types { text/html html; application/javascript js; }
    default_type application/octet-stream;
`, d.srvDir, html) +
		srv(cliPageLoad, "") + srv(cliSlow, "") + srv(cliNavigate, "") + srv(cliFetchAbort, "") +
		srv(cliPoll, " keepalive_timeout 1s;") + srv(cliPreconnect, "") +
		srv(cliResetIdle, " client_header_timeout 1s;") +
		srv(cliWgetKill, "") + srv(cliWgetTmo, "") + srv(cliAB, "") + srv(cliPyPartial, "") +
		srv(cliPyStale, " keepalive_timeout 1s;") +
		srvL(cliH2, " http2", "") + srvL(cliTLSLoad, " ssl http2", tls) + srvL(cliTLSNav, " ssl http2", tls) +
		srv(cliDownload, "") + srv(cliKilled, "") + srv(cliUpload413, " client_max_body_size 1k;") +
		"}\n"
	name := filepath.Join(d.srvDir, "nginx-cli.conf")
	if err := os.WriteFile(name, []byte(conf), 0o644); err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(d.srvDir, "nginx-cli.out"))
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", "netns", "exec", d.srvNS, "nginx", "-c", name, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("nginx-cli: %w", err)
	}
	go func() { cmd.Wait(); out.Close() }()
	for range 100 {
		b, _ := exec.Command("ip", "netns", "exec", d.srvNS, "ss", "-Htln", "sport", "=", ":"+strconv.Itoa(cliH2)).Output()
		if len(b) > 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(d.srvDir, "nginx-cli.out"))
	return fmt.Errorf("nginx-cli did not start: %s", b)
}

// synWatch logs kind k's connections: every SYN from this namespace to the
// servers' ports, seen by a tcpdump of its own.
type synWatch struct {
	cmd  *exec.Cmd
	done chan struct{}
}

var synLine = regexp.MustCompile(`^(\d+)\.(\d+) .*IP6? (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[S\], seq (\d+)`)

func (d *driver) watchSYNs(k string, ports []int) (*synWatch, error) {
	var pf []string
	for _, p := range ports {
		pf = append(pf, "dst port "+strconv.Itoa(p))
	}
	filter := fmt.Sprintf("(dst host %s or dst host %s) and (%s) and (tcp[13] & 0x12 == 0x02 or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02))",
		d.addr4, d.addr6, strings.Join(pf, " or "))
	cmd := exec.Command("tcpdump", "-i", "any", "-nn", "-tt", "--time-stamp-precision=nano", "-l", "-Z", "root", filter)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tcpdump: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				once.Do(func() { close(ready) })
			}
		}
		once.Do(func() { close(ready) })
	}()
	w := &synWatch{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		seen := map[string]bool{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			m := synLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			key := m[3] + "." + m[4] + ">" + m[5] + "." + m[6] + "/" + m[7]
			if seen[key] {
				continue // a retransmitted SYN
			}
			seen[key] = true
			sec, _ := strconv.ParseInt(m[1], 10, 64)
			ns, _ := strconv.ParseInt((m[2] + "000000000")[:9], 10, 64)
			ca, err1 := netip.ParseAddr(m[3])
			sa, err2 := netip.ParseAddr(m[5])
			cp, _ := strconv.Atoi(m[4])
			sp, _ := strconv.Atoi(m[6])
			if err1 != nil || err2 != nil {
				continue
			}
			d.log.add(k, netip.AddrPortFrom(ca, uint16(cp)), netip.AddrPortFrom(sa, uint16(sp)), time.Unix(sec, ns))
			d.count(k).conns.Add(1)
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
	}
	time.Sleep(100 * time.Millisecond) // the filter is attached before tcpdump says so; margin
	return w, nil
}

func (w *synWatch) stop() {
	time.Sleep(200 * time.Millisecond)
	w.cmd.Process.Signal(syscall.SIGINT)
	<-w.done
	w.cmd.Wait()
}

// watched makes a kind's batch: the client-software server started, a SYN
// watch on the kind's ports, run for i in [0, n) with conc at once.
func watched(k string, ports []int, conc int, run func(d *driver, k string, i int) error) func(d *driver, n int) error {
	return func(d *driver, n int) error {
		if err := d.startCLIServer(); err != nil {
			return err
		}
		w, err := d.watchSYNs(k, ports)
		if err != nil {
			return err
		}
		defer w.stop()
		d.pool(k, n, conc, func(i int) error { return run(d, k, i) })
		return nil
	}
}

// pool runs job for i in [0, n), conc at a time; each error counts as one
// of kind k's client-side errors.
func (d *driver) pool(k string, n, conc int, job func(i int) error) {
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				if err := job(i); err != nil {
					d.count(k).errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// url is http://SERVER:port/path with the server of connection i's family
// (https:// on the TLS ports).
func (d *driver) url(k string, i, port int, path string) string {
	scheme := "http://"
	if port == cliTLSLoad || port == cliTLSNav {
		scheme = "https://"
	}
	return scheme + d.server(k, i, port).String() + path
}

// runFor runs a client program in a process group of its own; after life
// it sends sig to the group (0: wait for the program to end on its own), and
// 3 s later SIGKILL to whatever is left. Output goes nowhere.
func runFor(life time.Duration, sig syscall.Signal, name string, args ...string) error {
	return runCmd(exec.Command(name, args...), life, sig)
}

func runCmd(cmd *exec.Cmd, life time.Duration, sig syscall.Signal) error {
	return runCmdUntil(cmd, life, sig, nil)
}

// runCmdUntil is runCmd with, when wait is set, the signal sent once wait
// returns instead of after life (the program still has at most 20 s).
func runCmdUntil(cmd *exec.Cmd, life time.Duration, sig syscall.Signal, wait func()) error {
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if os.Getenv("REALDRIVER_DEBUG") != "" { // the clients' output, to find why one does nothing
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	pg := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The moment to end it: after life, or once wait returns (then within
	// 20 s at most).
	end := make(chan struct{})
	if wait == nil {
		t := time.AfterFunc(life, func() { close(end) })
		defer t.Stop()
	} else {
		t := time.AfterFunc(20*time.Second, func() { syscall.Kill(-pg, syscall.SIGKILL) })
		defer t.Stop()
		go func() { wait(); close(end) }()
	}
	var err error
	select {
	case err = <-exited:
	case <-end:
		if sig == 0 {
			sig = syscall.SIGKILL
		}
		syscall.Kill(-pg, sig)
		select {
		case err = <-exited:
		case <-time.After(3 * time.Second):
			syscall.Kill(-pg, syscall.SIGKILL)
			err = <-exited
		}
	}
	// Children that outlived the leader (chromium's zygote and renderers).
	syscall.Kill(-pg, syscall.SIGKILL)
	return err
}

// wgetInterrupted: wget --limit-rate 300k on 16 MiB, interrupted (SIGINT, as
// Ctrl-C) after 300–800 ms with the server's data queued.
func wgetInterrupted(d *driver, k string, i int) error {
	life := time.Duration(300+d.rng(k, i).IntN(500)) * time.Millisecond
	return runFor(life, syscall.SIGINT, "wget", "-q", "-O", "/dev/null", "-t", "1", "--limit-rate=300k", d.url(k, i, cliWgetKill, "/cli/big"))
}

// wgetReadTimeout: wget -T 1 -t 2 on a request nginx cannot answer (its
// upstream never answers the connect): two connections, each given up
// after a second of silence.
func wgetReadTimeout(d *driver, k string, i int) error {
	return runFor(10*time.Second, syscall.SIGINT, "wget", "-q", "-O", "/dev/null", "-T", "1", "-t", "2", "--waitretry=0", d.url(k, i, cliWgetTmo, "/hang"))
}

// abKeepaliveTimeLimit: ab -k -c 6 -t 1 on 256 KiB: at the time limit ab
// stops with requests in flight on every connection.
func abKeepaliveTimeLimit(d *driver, k string, i int) error {
	return runFor(10*time.Second, syscall.SIGINT, "ab", "-q", "-k", "-c", "6", "-t", "1", "-n", "1000000", d.url(k, i, cliAB, "/cli/m256k"))
}

// pyURLLibPartial: python3's urllib (timeout 2 s) reads the first 64 KiB
// of 16 MiB, as a script that sniffs a file's head, and leaves the
// response to the interpreter's exit.
func pyURLLibPartial(d *driver, k string, i int) error {
	const script = `import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=2)
r.read(65536)
sys.exit(0)
`
	return runFor(10*time.Second, syscall.SIGINT, "/usr/bin/python3", "-c", script, d.url(k, i, cliPyPartial, "/cli/big"))
}

// pyStaleKeepalive: python3's http.client, one GET, then a second on the
// same connection 1 s ± 50 ms later (keepalive_timeout 1s): the pool reuse
// race of a script, which then exits.
func pyStaleKeepalive(d *driver, k string, i int) error {
	const script = `import sys, time, http.client
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=3)
c.request("GET", "/cli/small"); c.getresponse().read()
time.sleep(float(sys.argv[3]))
try:
    c.request("GET", "/cli/small"); c.getresponse().read()
except Exception:
    pass
c.close()
`
	srv := d.server(k, i, cliPyStale)
	host := srv.Addr().String()
	wait := 0.95 + float64(d.rng(k, i).IntN(100))/1000
	return runFor(10*time.Second, syscall.SIGINT, "/usr/bin/python3", "-c", script, host, strconv.Itoa(cliPyStale), strconv.FormatFloat(wait, 'f', 3, 64))
}

// h2loadDuration: h2load over cleartext HTTP/2 (prior knowledge), 4
// connections of 10 streams each for 1 s of 64 KiB resources: at the end
// of the duration it stops with streams in flight.
func h2loadDuration(d *driver, k string, i int) error {
	return runFor(15*time.Second, syscall.SIGINT, "h2load", "-c", "4", "-m", "10", "-D", "1", "--warm-up-time=0", d.url(k, i, cliH2, "/cli/r/7"))
}
