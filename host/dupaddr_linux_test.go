package host

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
)

// TestDuplicateAddrNetNS joins two namespaces with a veth pair and gives
// both ends 10.77.0.1 and fd77::1: the ARP probe from A must name B's MAC,
// and B, which added fd77::1 last, must show it as DAD-failed.
func TestDuplicateAddrNetNS(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	a, b := fmt.Sprintf("rstscope-dupa-%d", os.Getpid()), fmt.Sprintf("rstscope-dupb-%d", os.Getpid())
	for _, ns := range []string{a, b} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	run(t, "ip", "link", "add", "rsdupa", "netns", a, "type", "veth", "peer", "name", "rsdupb", "netns", b)
	run(t, "ip", "-n", a, "link", "set", "rsdupa", "up")
	run(t, "ip", "-n", b, "link", "set", "rsdupb", "up")
	run(t, "ip", "-n", a, "addr", "add", "10.77.0.1/24", "dev", "rsdupa")
	run(t, "ip", "-n", b, "addr", "add", "10.77.0.1/24", "dev", "rsdupb")
	macB := strings.TrimSpace(output(t, "ip", "netns", "exec", b, "cat", "/sys/class/net/rsdupb/address"))

	run(t, "ip", "-n", a, "addr", "add", "fd77::1/64", "dev", "rsdupa")
	waitFor(t, "A's DAD to finish", func() bool {
		return !strings.Contains(output(t, "ip", "-n", a, "-6", "addr", "show", "dev", "rsdupa", "tentative"), "fd77::1")
	})
	run(t, "ip", "-n", b, "addr", "add", "fd77::1/64", "dev", "rsdupb")

	t.Run("arp", func(t *testing.T) {
		dups, err := testutil.InNetNS(t, a, func() ([]Duplicate, error) { return probeDuplicates(300 * time.Millisecond) })
		if err != nil {
			t.Fatal(err)
		}
		if len(dups) != 1 || dups[0].Addr != netip.MustParseAddr("10.77.0.1") || dups[0].MAC.String() != macB || dups[0].Iface != "rsdupa" {
			t.Fatalf("got %+v, want 10.77.0.1 on rsdupa claimed by %s", dups, macB)
		}
	})
	t.Run("ipv6 dadfailed", func(t *testing.T) {
		var fs []Finding
		waitFor(t, "B's DAD to fail", func() bool {
			as, err := parseIfInet6(strings.NewReader(output(t, "ip", "netns", "exec", b, "cat", "/proc/net/if_inet6")))
			if err != nil {
				t.Fatal(err)
			}
			fs = auditDADFailed(as)
			return len(fs) > 0
		})
		if want := "dupaddr.ipv6.rsdupb.fd77::1"; fs[0].ID != want {
			t.Errorf("got %s, want %s", fs[0].ID, want)
		}
	})
}

func run(t *testing.T, name string, args ...string) { t.Helper(); output(t, name, args...) }

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out after 5s waiting for %s", what)
}
