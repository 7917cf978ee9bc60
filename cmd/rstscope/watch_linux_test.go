package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// watchNS is a throwaway network namespace (ip netns add) for watch's
// kernel tests; every reset the tests make happens inside it, and the
// watcher is told to keep only its inode.
type watchNS struct{ name string }

func newWatchNS(t *testing.T) *watchNS { return newRoleNS(t, "") }

// newRoleNS makes a namespace named for its role in a topology (client,
// router, server), so one test can make several.
func newRoleNS(t *testing.T, role string) *watchNS {
	t.Helper()
	ns := &watchNS{name: fmt.Sprintf("rstscope-watch-%d", os.Getpid())}
	if role != "" {
		ns.name = fmt.Sprintf("rstscope-watch-%s-%d", role, os.Getpid())
	}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace (ip netns add): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	ns.run(t, "ip", "link", "set", "lo", "up")
	return ns
}

func (ns *watchNS) path() string { return "/run/netns/" + ns.name }

func (ns *watchNS) run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// do runs fn on an OS thread inside the namespace, so the sockets fn makes
// live there; the thread is thrown away afterwards.
func (ns *watchNS) do(t *testing.T, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := unix.Open(ns.path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// liveWatch is `rstscope watch --format ndjson` running in the test.
type liveWatch struct {
	findings    chan report.Finding
	stderr      *strings.Builder
	metricsURL  string
	cancel      func()
	done        chan error
	stderrLines chan string
}

func startWatch(t *testing.T, args ...string) *liveWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	lw := &liveWatch{findings: make(chan report.Finding, 1024), stderr: &strings.Builder{}, cancel: cancel, done: make(chan error, 1), stderrLines: make(chan string, 64)}
	go func() {
		err := run(ctx, append([]string{"watch", "--format", "ndjson"}, args...), outW, errW)
		outW.Close()
		errW.Close()
		lw.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var f report.Finding
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				t.Errorf("bad ndjson line %q: %v", sc.Text(), err)
				continue
			}
			lw.findings <- f
		}
		close(lw.findings)
	}()
	go func() {
		sc := bufio.NewScanner(errR)
		for sc.Scan() {
			lw.stderrLines <- sc.Text()
		}
		close(lw.stderrLines)
	}()
	t.Cleanup(func() { lw.stop(t) })
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lw.stderrLines:
			if !ok {
				err := <-lw.done
				if err != nil && (strings.Contains(err.Error(), "6.10") || strings.Contains(err.Error(), "can't")) {
					t.Skipf("this kernel cannot: %v", err)
				}
				t.Fatalf("watch ended before it was ready: %v\n%s", err, lw.stderr)
			}
			lw.stderr.WriteString(line + "\n")
			if i := strings.Index(line, "metrics at "); i >= 0 {
				lw.metricsURL = strings.TrimSpace(line[i+len("metrics at "):])
			}
			if strings.Contains(line, "watching TCP resets") {
				go func() {
					for line := range lw.stderrLines {
						t.Log("watch:", line)
					}
				}()
				return lw
			}
		case <-timeout:
			t.Fatalf("watch not ready after 10s:\n%s", lw.stderr)
		}
	}
}

func (lw *liveWatch) stop(t *testing.T) {
	t.Helper()
	if lw.cancel == nil {
		return
	}
	lw.cancel()
	lw.cancel = nil
	select {
	case err := <-lw.done:
		if err != nil {
			t.Errorf("watch returned %v after cancel, want nil", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("watch did not detach within 3s of cancel")
	}
}

// expect returns the first finding that match accepts, or fails after d.
func (lw *liveWatch) expect(t *testing.T, what string, d time.Duration, match func(report.Finding) bool) report.Finding {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-lw.findings:
			if !ok {
				t.Fatalf("%s: watch output ended", what)
			}
			if match(f) {
				return f
			}
		case <-timeout:
			t.Fatalf("%s: no matching finding within %v", what, d)
		}
	}
}

// TestWatchRealResets makes each reset happen for real with real sockets in
// a throwaway namespace while `rstscope watch` is attached, and checks the
// reason Linux 6.18 reports (DESIGN.md, "What Linux 6.18 really reports")
// and the cause rstscope gives.
func TestWatchRealResets(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newWatchNS(t)
	lw := startWatch(t, "--netns", ns.path(), "--metrics-addr", "127.0.0.1:0")
	ns.run(t, "nft", "add table inet rstscope_test")
	ns.run(t, "nft", "add chain inet rstscope_test in { type filter hook input priority 0 ; }")
	nsInode, err := fileInode(ns.path())
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()

	sentFrom := func(from string) func(report.Finding) bool {
		return func(f report.Finding) bool { return f.Direction == "sent" && f.From == from }
	}
	check := func(t *testing.T, f report.Finding, reason string, id cause.ID, context string, pid int) {
		t.Helper()
		if f.KernelReason != reason {
			t.Errorf("got kernel reason %q, want %q", f.KernelReason, reason)
		}
		if f.Cause != id {
			t.Errorf("got cause %s, want %s", f.Cause, id)
		}
		if f.Context != context {
			t.Errorf("got context %q, want %q", f.Context, context)
		}
		if f.PID != pid {
			t.Errorf("got pid %d, want %d", f.PID, pid)
		}
		if f.NetNS != uint64(nsInode) {
			t.Errorf("got netns %d, want %d", f.NetNS, nsInode)
		}
		if len(f.Advice) == 0 {
			t.Error("got no advice")
		}
		t.Logf("%s", appendLine(nil, &f))
	}

	t.Run("closed-port", func(t *testing.T) {
		for _, addr := range []string{"127.0.0.1:9", "[::1]:9"} {
			ns.do(t, func() error {
				if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
					c.Close()
					return fmt.Errorf("%s: connected, want refused", addr)
				}
				return nil
			})
			f := lw.expect(t, addr, 3*time.Second, sentFrom(addr))
			check(t, f, "NO_SOCKET", cause.ClosedPort, "kernel", 0)
			if f.Sender != cause.Server {
				t.Errorf("got sender %s, want server", f.Sender)
			}
		}
	})

	// pair connects a client to a fresh listener in the namespace and
	// returns both ends. Listeners use fixed ports below the ephemeral range,
	// as real servers do: watch tells client from server by that range once
	// the handshake is over.
	pair := func(t *testing.T, network, addr string) (client, server *net.TCPConn) {
		t.Helper()
		ns.do(t, func() error {
			ln, err := net.Listen(network, addr)
			if err != nil {
				return err
			}
			defer ln.Close()
			c, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				return err
			}
			s, err := ln.Accept()
			if err != nil {
				c.Close()
				return err
			}
			client, server = c.(*net.TCPConn), s.(*net.TCPConn)
			return nil
		})
		return client, server
	}

	t.Run("unread-data-close", func(t *testing.T) {
		for _, network := range []string{"tcp4", "tcp6"} {
			addr := map[string]string{"tcp4": "127.0.0.1:18001", "tcp6": "[::1]:18001"}[network]
			c, s := pair(t, network, addr)
			if _, err := c.Write([]byte("request the server never reads")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let it land in the server's receive queue
			from := s.LocalAddr().String()
			s.Close()
			f := lw.expect(t, network, 3*time.Second, sentFrom(from))
			c.Close()
			check(t, f, "TCP_ABORT_ON_CLOSE", cause.UnreadDataClose, "process", me)
			if f.Sender != cause.Server {
				t.Errorf("got sender %s, want server", f.Sender)
			}
			if f.Command == "" {
				t.Error("got no command name")
			}
		}
	})

	// A dual-stack listener serves IPv4 clients from an AF_INET6 socket with
	// v4-mapped addresses; watch reports the IPv4 addresses on the wire.
	t.Run("unread-data-close v4-mapped", func(t *testing.T) {
		var c, s *net.TCPConn
		ns.do(t, func() error {
			ln, err := net.Listen("tcp", "[::]:18004")
			if err != nil {
				return err
			}
			defer ln.Close()
			conn, err := net.Dial("tcp4", "127.0.0.1:18004")
			if err != nil {
				return err
			}
			sc, err := ln.Accept()
			if err != nil {
				conn.Close()
				return err
			}
			c, s = conn.(*net.TCPConn), sc.(*net.TCPConn)
			return nil
		})
		defer c.Close()
		c.Write([]byte("unread"))
		time.Sleep(50 * time.Millisecond)
		s.Close()
		f := lw.expect(t, "v4-mapped", 3*time.Second, sentFrom("127.0.0.1:18004"))
		check(t, f, "TCP_ABORT_ON_CLOSE", cause.UnreadDataClose, "process", me)
	})

	t.Run("application-abort", func(t *testing.T) {
		c, s := pair(t, "tcp4", "127.0.0.1:18002")
		defer s.Close()
		if err := c.SetLinger(0); err != nil {
			t.Fatal(err)
		}
		from := c.LocalAddr().String()
		c.Close()
		f := lw.expect(t, "SO_LINGER{1,0}", 3*time.Second, sentFrom(from))
		check(t, f, "TCP_STATE", cause.ApplicationAbort, "process", me)
		if f.Sender != cause.Client {
			t.Errorf("got sender %s, want client", f.Sender)
		}
	})

	// The server closes (FIN), its orphan ends up a FIN-WAIT-2 time-wait
	// socket, and the client still sends: DESIGN.md's "data after close
	// with default settings" row.
	t.Run("data-after-close", func(t *testing.T) {
		c, s := pair(t, "tcp4", "127.0.0.1:18005")
		defer c.Close()
		from := s.LocalAddr().String()
		s.Close()
		time.Sleep(100 * time.Millisecond) // FIN out, ACKed: FIN-WAIT-2
		if _, err := c.Write([]byte("too late")); err != nil {
			t.Fatal(err)
		}
		f := lw.expect(t, "data after close", 3*time.Second, sentFrom(from))
		check(t, f, "TCP_TIMEWAIT_SOCKET", cause.DataAfterClose, "kernel", 0)
		if f.State != "TCP_TIME_WAIT/TCP_FIN_WAIT2" {
			t.Errorf("got state %q, want TCP_TIME_WAIT/TCP_FIN_WAIT2", f.State)
		}
	})

	t.Run("idle-timeout", func(t *testing.T) {
		c, s := pair(t, "tcp4", "127.0.0.1:18003")
		defer s.Close()
		defer c.Close()
		sport := s.LocalAddr().(*net.TCPAddr).Port
		// The server stops answering: drop everything it sends, so the
		// client's keepalive probe goes unanswered.
		ns.run(t, "nft", fmt.Sprintf("add rule inet rstscope_test in tcp sport %d drop", sport))
		err := c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		from := c.LocalAddr().String()
		f := lw.expect(t, "keepalive", 8*time.Second, sentFrom(from))
		check(t, f, "TCP_KEEPALIVE_TIMEOUT", cause.IdleTimeout, "kernel", 0)
		if f.Sender != cause.Client {
			t.Errorf("got sender %s, want client", f.Sender)
		}
	})

	t.Run("firewall-reject", func(t *testing.T) {
		for _, addr := range []string{"127.0.0.1:7777", "[::1]:7777"} {
			ns.run(t, "nft", "add rule inet rstscope_test in tcp dport 7777 reject with tcp reset")
			ns.do(t, func() error {
				if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
					c.Close()
					return fmt.Errorf("%s: connected, want reset", addr)
				}
				return nil
			})
			f := lw.expect(t, addr, 3*time.Second, sentFrom(addr))
			check(t, f, "", cause.FirewallReject, "kernel", 0)
			if !strings.Contains(strings.Join(f.Evidence, " "), "no owning socket and no tcp_send_reset") {
				t.Errorf("got evidence %q, want it to say the RST had no owning socket and no tcp_send_reset", f.Evidence)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		if lw.metricsURL == "" {
			t.Fatal("watch printed no metrics address")
		}
		resp, err := http.Get(lw.metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, want := range []string{
			`rstscope_resets_total{cause="closed-port",direction="sent",netns="` + ns.name + `",reason="NO_SOCKET",sender="server"}`,
			`rstscope_resets_total{cause="firewall-reject",direction="sent",netns="` + ns.name + `",reason="none",sender="server"} 2`,
			`rstscope_events_lost_total{source="kernel"} 0`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %s\n%s", want, b)
			}
		}
	})
	lw.stop(t)
}

// TestWatchPacketHook checks the -i seam: findings from the packet side
// reach the same output and metrics as kernel events.
func TestWatchPacketHook(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newWatchNS(t)
	saved := watchPackets
	t.Cleanup(func() { watchPackets = saved })
	watchPackets = func(ctx context.Context, iface string, emit func(report.Finding), dropped func(uint64)) error {
		emit(report.Finding{Time: time.Now(), From: "192.0.2.1:443", Client: "192.0.2.2:50000", Server: "192.0.2.1:443",
			Sender: cause.Middlebox, Cause: cause.Injected, Direction: "received", Evidence: []string{"from " + iface}})
		dropped(3)
		<-ctx.Done()
		return ctx.Err()
	}
	lw := startWatch(t, "-i", "lo", "--netns", ns.path(), "--metrics-addr", "127.0.0.1:0")
	f := lw.expect(t, "packet finding", 3*time.Second, func(f report.Finding) bool { return f.Cause == cause.Injected })
	if len(f.Evidence) != 1 || f.Evidence[0] != "from lo" {
		t.Errorf("got evidence %q, want [from lo]", f.Evidence)
	}
	resp, err := http.Get(lw.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`rstscope_events_lost_total{source="capture"} 3`,
		`rstscope_resets_total{cause="injected",direction="received",netns="host",reason="none",sender="middlebox"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	lw.stop(t)
}
