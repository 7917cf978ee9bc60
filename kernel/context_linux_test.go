package kernel

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rstscope/rstscope/internal/testutil"
)

// TestWatchContext checks Event.Context against what the test did, on one
// thread whose id it knows:
//   - close() with SO_LINGER {1, 0} sends the RST from that thread's own
//     system call (tcp_disconnect -> tcp_send_active_reset): process
//     context, with this process's pid and that thread's tid;
//   - a SYN to a closed port, sent by connect() from the same thread: on
//     loopback the kernel answers it in the softirq that runs when the
//     sending thread re-enables bottom halves, so current is still this
//     thread, yet the RST is the receive path's: kernel context, no pid.
//
// The second case is the one that tells a real check from "current is a
// user task": both RSTs are sent while the test's thread is current.
func TestWatchContext(t *testing.T) {
	testutil.RequireRoot(t)
	// Both ways of telling the context: the preempt count where this
	// kernel's BTF locates it, and the softirq tracepoints elsewhere.
	t.Run("default", func(t *testing.T) { testContext(t, false) })
	t.Run("softirq-tracepoints", func(t *testing.T) { testContext(t, true) })
}

func testContext(t *testing.T, softirqHooks bool) {
	ns := newTestNS(t)
	w, err := Open(Options{NetNS: []uint32{ns.Inode}, softirqHooks: softirqHooks})
	if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrNoReasons) {
		t.Skipf("kernel cannot: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	t.Logf("softirq tracepoints attached: %v", w.SoftirqHooks())
	if softirqHooks && !w.SoftirqHooks() {
		t.Fatal("softirq tracepoints asked for, not attached")
	}

	var tid int
	var lingerFrom, synTo netip.AddrPort
	ns.Do(t, func() {
		tid = unix.Gettid()
		if lingerFrom, err = lingerClose(); err != nil {
			t.Errorf("linger close: %v", err)
			return
		}
		synTo = netip.MustParseAddrPort("127.0.0.1:9")
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Connect(fd, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}}); !errors.Is(err, unix.ECONNREFUSED) {
			t.Errorf("connect to a closed port: got %v, want ECONNREFUSED", err)
		}
	})
	if t.Failed() {
		return
	}

	names, err := LoadNames()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.AfterFunc(3*time.Second, func() { w.Close() })
	defer deadline.Stop()
	var sawLinger, sawSYN bool
	var e Event
	for !sawLinger || !sawSYN {
		if err := w.Read(&e); errors.Is(err, os.ErrClosed) {
			t.Fatalf("timed out: linger RST seen %v, closed-port RST seen %v", sawLinger, sawSYN)
		} else if err != nil {
			t.Fatal(err)
		}
		if e.Kind != Sent {
			continue
		}
		switch {
		case e.From == lingerFrom:
			sawLinger = true
			if got := names.Reason(e.Reason); got != "TCP_STATE" {
				t.Errorf("linger close: got reason %s, want TCP_STATE", got)
			}
			if e.Context != ContextProcess || e.PID != uint32(os.Getpid()) || e.TID != uint32(tid) {
				t.Errorf("linger close: got context %v pid %d tid %d, want process pid %d tid %d", e.Context, e.PID, e.TID, os.Getpid(), tid)
			}
		case e.From == synTo:
			sawSYN = true
			if got := names.Reason(e.Reason); got != "NO_SOCKET" {
				t.Errorf("closed port: got reason %s, want NO_SOCKET", got)
			}
			if e.Context != ContextKernel || e.PID != 0 || e.TID != 0 {
				t.Errorf("closed port: got context %v pid %d tid %d, want kernel and no task", e.Context, e.PID, e.TID)
			}
		}
	}
}

// lingerClose connects to a listener on loopback and closes the client end
// with SO_LINGER {1, 0}, all with raw system calls on the calling thread, and
// returns the client's address: the RST's source.
func lingerClose() (netip.AddrPort, error) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Listen(ln, 1); err != nil {
		return netip.AddrPort{}, err
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		return netip.AddrPort{}, err
	}
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	local, err := unix.Getsockname(c) // replaced after connect
	if err == nil {
		err = unix.Connect(c, sa)
	}
	if err == nil {
		local, err = unix.Getsockname(c)
	}
	if err == nil {
		err = unix.SetsockoptLinger(c, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	if cerr := unix.Close(c); err == nil {
		err = cerr
	}
	if err != nil {
		return netip.AddrPort{}, err
	}
	in4 := local.(*unix.SockaddrInet4)
	return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)), nil
}
