package main

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logLabNS makes the network namespace ns with lo up and addrs (IPv4) on
// it, for the tests that run real servers and their logs; it is deleted
// when the test ends.
func logLabNS(t *testing.T, ns string, addrs ...string) {
	t.Helper()
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	sh("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh("ip", "-n", ns, "link", "set", "lo", "up")
	for _, a := range addrs {
		sh("ip", "-n", ns, "addr", "add", a+"/32", "dev", "lo")
	}
}

// startInNS starts args in ns with its output to out; it is stopped
// (SIGTERM) when the test ends.
func startInNS(t *testing.T, ns, name string, out io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	return cmd
}

// startTCPDump captures lo in ns to path with filter and returns once
// tcpdump listens; stop ends it after its last packets are written
// (immediate mode, and a pause for the last block).
func startTCPDump(t *testing.T, ns, path, filter string) (stop func()) {
	t.Helper()
	r, w := io.Pipe()
	td := startInNS(t, ns, "tcpdump", w, "tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", path, filter)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(ready)
				break
			}
		}
		io.Copy(io.Discard, r)
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start")
	}
	return func() {
		time.Sleep(1500 * time.Millisecond)
		td.Process.Signal(syscall.SIGINT)
		td.Wait()
	}
}
