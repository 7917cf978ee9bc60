//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/host"
	"github.com/rstscope/rstscope/internal/testutil"
)

// TestCheckGolden renders the fixture host in both formats. Under --root
// the live sources (sock_diag, nftables, iptables-save, ARP) are skipped
// and listed as unreadable, so the output depends on the fixture alone.
func TestCheckGolden(t *testing.T) {
	root := filepath.Join(testutil.ModuleRoot(t), "testdata", "host")
	tests := []struct {
		name, format, golden string
	}{
		{"text", "text", "check.golden.txt"},
		{"json", "json", "check.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{"check", "--root", root, "--format", tt.format}, &stdout, &stderr); err != nil {
				t.Fatalf("got error %v, want none (stderr %q)", err, stderr.String())
			}
			testutil.Golden(t, filepath.Join(root, tt.golden), stdout.Bytes())
		})
	}
}

// TestCheckJSONShape pins the contract of docs/check.md: exactly two
// top-level keys, and the six finding fields.
func TestCheckJSONShape(t *testing.T) {
	root := filepath.Join(testutil.ModuleRoot(t), "testdata", "host")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"check", "--root", root, "--format", "json"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc) != 2 || doc["findings"] == nil || doc["unreadable"] == nil {
		t.Fatalf("got keys %v, want findings and unreadable", keys(doc))
	}
	tests := []struct {
		name string
		rows []map[string]any
		want []string
	}{
		{"finding", doc["findings"], []string{"advice", "cause", "evidence", "id", "severity", "summary"}},
		{"unreadable", doc["unreadable"], []string{"error", "path", "what"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, row := range tt.rows {
				if got := strings.Join(keys(row), ","); got != strings.Join(tt.want, ",") {
					t.Fatalf("got fields %s, want %s", got, strings.Join(tt.want, ","))
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestCheckFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad format", []string{"check", "--format", "xml"}, `unknown format "xml"`},
		{"stray argument", []string{"check", "eth0"}, "takes no arguments"},
		{"negative interval", []string{"check", "--interval", "-1s"}, "negative interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// childOutEnv tells the re-executed test binary to run the check and write
// its JSON there: it runs via `ip netns exec`, so every source (netlink,
// /proc/sys, /proc/net, iptables-save) sees the test namespace.
const childOutEnv = "RSTSCOPE_CHECK_CHILD_OUT"

func TestCheckNetNSChild(t *testing.T) {
	out := os.Getenv(childOutEnv)
	if out == "" {
		t.Skip("helper for TestCheckNetNS; runs only inside its network namespace")
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"check", "--format", "json"}, f, &stderr); err != nil {
		t.Fatalf("check: %v (%s)", err, stderr.String())
	}
}

// TestCheckNetNS builds the three reset sources in a throwaway network
// namespace (an nftables reject rule, tcp_abort_on_overflow=1, a listener
// with a full accept queue) and asserts check reports each.
func TestCheckNetNS(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"ip", "nft", "sysctl"} {
		testutil.LookTool(t, tool, "iproute2, nftables, procps")
	}
	ns := fmt.Sprintf("rstscope-check-%d", os.Getpid())
	sh(t, "", "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh(t, "", "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	// syncookies off so the overflow is the plain accept-queue kind (DESIGN.md).
	sh(t, "", "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_abort_on_overflow=1", "net.ipv4.tcp_syncookies=0")
	sh(t, "table inet rstscope_test {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 9 reject with tcp reset\n }\n}\n",
		"ip", "netns", "exec", ns, "nft", "-f", "-")

	port := fullListener(t, ns, 4)
	time.Sleep(200 * time.Millisecond) // let the handshakes complete

	out := filepath.Join(t.TempDir(), "check.json")
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestCheckNetNSChild$")
	cmd.Env = append(os.Environ(), childOutEnv+"="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("check in %s: %v\n%s", ns, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep host.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("decoding check output: %v\n%s", err, b)
	}
	tests := []struct {
		name     string
		idPrefix string
		cause    cause.ID
		text     string
	}{
		{"nftables reject", "nftables.inet.rstscope_test.input.", cause.FirewallReject, "tcp dport 9 reject with tcp reset"},
		{"abort on overflow", "sysctl.tcp_abort_on_overflow", cause.AcceptQueueOverflow, "tcp_abort_on_overflow = 1"},
		{"full accept queue", fmt.Sprintf("listen.127.0.0.1:%d", port), cause.AcceptQueueOverflow, fmt.Sprintf("(pid %d)", os.Getpid())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range rep.Findings {
				if strings.HasPrefix(f.ID, tt.idPrefix) {
					if f.Cause != tt.cause || f.Severity == host.Info || !strings.Contains(f.Summary, tt.text) {
						t.Errorf("got %s %s %s %q, want %s, warning or worse, summary with %q", f.ID, f.Severity, f.Cause, f.Summary, tt.cause, tt.text)
					}
					return
				}
			}
			t.Errorf("got no finding %s*, want one; findings:\n%s", tt.idPrefix, b)
		})
	}
}

// fullListener listens on 127.0.0.1 with backlog 1 inside ns and connects
// clients that are never accepted. The sockets stay in ns after the thread
// that made them is gone; they close at cleanup.
func fullListener(t *testing.T, ns string, clients int) int {
	t.Helper()
	var fds []int
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	port, err := testutil.InNetNS(t, ns, func() (int, error) {
		l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		fds = append(fds, l)
		if err := unix.Bind(l, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return 0, err
		}
		if err := unix.Listen(l, 1); err != nil {
			return 0, err
		}
		sa, err := unix.Getsockname(l)
		if err != nil {
			return 0, err
		}
		for range clients {
			c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return 0, err
			}
			fds = append(fds, c)
			if err := unix.Connect(c, sa); err != nil && err != unix.EINPROGRESS {
				return 0, err
			}
		}
		return sa.(*unix.SockaddrInet4).Port, nil
	})
	if err != nil {
		t.Fatalf("making a full listener in %s: %v", ns, err)
	}
	return port
}

func sh(t *testing.T, stdin string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
}
