package kernel

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rstscope/rstscope/internal/testutil"
)

// wireEvents attaches a watcher to ns, runs traffic, and returns the Wire
// and Netfilter events (RSTs the TCP stack did not send) the watcher saw in
// ns after the Correlator's wait: what watch would call made there.
func wireEvents(t *testing.T, ns *testNS, traffic func()) []Event {
	t.Helper()
	w := openWatcher(t, ns)
	traffic()
	var corr Correlator
	var got []Event
	keep := func(r *Reset) {
		if r.Kind == Wire || r.Kind == Netfilter {
			got = append(got, r.Event)
		}
	}
	var e Event
	w.SetDeadline(time.Now().Add(time.Second))
	for {
		err := w.Read(&e)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		corr.Add(&e)
	}
	corr.Flush(keep)
	return got
}

// dial connects to addr from ns and expects a reset.
func dialRefused(t *testing.T, ns *testNS, addr string) {
	t.Helper()
	ns.Do(t, func() {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s: connected, want reset", addr)
		}
	})
}

// TestForwardedResetsNotMadeHere routes a client through a router
// namespace to a server namespace. The server's RSTs cross the router, and
// the router must not report them as made there (skb_iif is set on a
// received skb); the router's own reject with tcp reset must be reported,
// from the server's address it forges.
func TestForwardedResetsNotMadeHere(t *testing.T) {
	testutil.RequireRoot(t)
	c, r, s := newNamedNS(t, "c"), newNamedNS(t, "r"), newNamedNS(t, "s")
	vethPair(t, c, "c0", r, "r0")
	vethPair(t, r, "r1", s, "s0")
	c.Run(t, "ip", "addr", "add", "10.77.1.2/24", "dev", "c0")
	c.Run(t, "ip", "link", "set", "c0", "up")
	c.Run(t, "ip", "route", "add", "default", "via", "10.77.1.1")
	r.Run(t, "ip", "addr", "add", "10.77.1.1/24", "dev", "r0")
	r.Run(t, "ip", "addr", "add", "10.77.2.1/24", "dev", "r1")
	r.Run(t, "ip", "link", "set", "r0", "up")
	r.Run(t, "ip", "link", "set", "r1", "up")
	r.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	s.Run(t, "ip", "addr", "add", "10.77.2.2/24", "dev", "s0")
	s.Run(t, "ip", "link", "set", "s0", "up")
	s.Run(t, "ip", "route", "add", "default", "via", "10.77.2.1")
	r.Run(t, "nft", "add table inet rstscope_watch")
	r.Run(t, "nft", "add chain inet rstscope_watch through { type filter hook forward priority 0 ; }")
	r.Run(t, "nft", "add rule inet rstscope_watch through tcp dport 7777 reject with tcp reset")

	got := wireEvents(t, r, func() {
		dialRefused(t, c, "10.77.2.2:9")    // the server's stack: forwarded
		dialRefused(t, c, "10.77.2.2:7777") // the router's reject: made there
	})
	if len(got) != 1 {
		t.Fatalf("got %d RSTs made in the router, want 1 (its own reject): %v", len(got), got)
	}
	if got[0].From.String() != "10.77.2.2:7777" || got[0].To.Addr().String() != "10.77.1.2" {
		t.Errorf("got %v > %v, want 10.77.2.2:7777 > 10.77.1.2", got[0].From, got[0].To)
	}
	if got[0].Kind == Wire && got[0].FromSock {
		t.Error("netfilter's RST is marked as a socket's")
	}
}

// TestRawSocketReset: a RST written by a raw socket (a tool forging resets)
// is found on the wire and marked as a socket's, unlike netfilter's.
func TestRawSocketReset(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newTestNS(t)
	got := wireEvents(t, ns, func() {
		ns.Do(t, func() {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
			if err != nil {
				t.Error(err)
				return
			}
			defer unix.Close(fd)
			// 127.0.0.1:5555 > 127.0.0.1:6666 RST, written out by hand: the
			// kernel fills the IP checksum, length and ID of a header-included
			// packet; nobody checks the TCP checksum on loopback.
			pkt := []byte{
				0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
				0x15, 0xb3, 0x1a, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x04, 0, 0, 0, 0, 0, 0,
			}
			if err := unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				t.Error(err)
			}
		})
	})
	if len(got) != 1 || got[0].From.String() != "127.0.0.1:5555" || !got[0].FromSock {
		t.Fatalf("got %+v, want one RST from 127.0.0.1:5555 marked as a socket's", got)
	}
}

// TestBridgedResetsNotMadeHere puts a Linux bridge (as cni0 or docker0) in
// a namespace of its own between a client and a server: the RSTs it
// bridges are not made there. The bridge's own address rejecting a
// connection is, once, although the RST leaves both br0 and the port.
func TestBridgedResetsNotMadeHere(t *testing.T) {
	testutil.RequireRoot(t)
	c, b, s := newNamedNS(t, "c"), newNamedNS(t, "b"), newNamedNS(t, "s")
	vethPair(t, c, "c0", b, "b0")
	vethPair(t, b, "b1", s, "s0")
	b.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	for _, dev := range []string{"b0", "b1"} {
		b.Run(t, "ip", "link", "set", dev, "master", "br0")
		b.Run(t, "ip", "link", "set", dev, "up")
	}
	b.Run(t, "ip", "addr", "add", "10.77.3.1/24", "dev", "br0")
	b.Run(t, "ip", "link", "set", "br0", "up")
	c.Run(t, "ip", "addr", "add", "10.77.3.2/24", "dev", "c0")
	c.Run(t, "ip", "link", "set", "c0", "up")
	s.Run(t, "ip", "addr", "add", "10.77.3.3/24", "dev", "s0")
	s.Run(t, "ip", "link", "set", "s0", "up")
	b.Run(t, "nft", "add table inet rstscope_watch")
	b.Run(t, "nft", "add chain inet rstscope_watch in { type filter hook input priority 0 ; }")
	b.Run(t, "nft", "add rule inet rstscope_watch in tcp dport 7777 reject with tcp reset")

	got := wireEvents(t, b, func() {
		dialRefused(t, c, "10.77.3.3:9")    // the server's stack: bridged
		dialRefused(t, c, "10.77.3.1:7777") // the bridge host's own reject
	})
	if len(got) != 1 {
		t.Fatalf("got %d RSTs made in the bridge namespace, want 1 (its own reject): %v", len(got), got)
	}
	if got[0].From.String() != "10.77.3.1:7777" || got[0].FromSock {
		t.Errorf("got a RST from %v (socket's: %v), want netfilter's from 10.77.3.1:7777", got[0].From, got[0].FromSock)
	}
}
