package kernel

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
)

// TestWatchClosedPort makes real SYNs to a closed port, IPv4 and IPv6, in a
// throwaway namespace and expects tcp_send_reset with NO_SOCKET from kernel
// context, filtered to that namespace in the kernel.
func TestWatchClosedPort(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newTestNS(t)
	w := openWatcher(t, ns)
	names, err := LoadNames()
	if err != nil {
		t.Fatal(err)
	}
	ns.Do(t, func() {
		for _, addr := range []string{"127.0.0.1:9", "[::1]:9"} {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
			}
		}
	})
	want := map[string]bool{"127.0.0.1:9": false, "[::1]:9": false}
	deadline := time.AfterFunc(3*time.Second, func() { w.Close() })
	defer deadline.Stop()
	var e Event
	for !want["127.0.0.1:9"] || !want["[::1]:9"] {
		if err := w.Read(&e); errors.Is(err, os.ErrClosed) {
			t.Fatalf("timed out; still waiting for %v", want)
		} else if err != nil {
			t.Fatal(err)
		}
		if e.NetNS != ns.Inode {
			t.Errorf("got netns %d, want only %d", e.NetNS, ns.Inode)
		}
		if e.Kind != Sent {
			continue
		}
		if got := names.Reason(e.Reason); got != "NO_SOCKET" {
			t.Errorf("%s: got reason %q, want NO_SOCKET", e.From, got)
		}
		if e.Context != ContextKernel || e.PID != 0 {
			t.Errorf("%s: got context %v pid %d, want kernel and no pid", e.From, e.Context, e.PID)
		}
		if e.InFlags&0x02 == 0 {
			t.Errorf("%s: got incoming flags %#x, want SYN", e.From, e.InFlags)
		}
		want[e.From.String()] = true
	}
	if n, err := w.Lost(); err != nil || n != 0 {
		t.Errorf("got %d lost events (err %v), want 0", n, err)
	}
	for _, n := range w.Notes() {
		t.Log(n)
	}
}
