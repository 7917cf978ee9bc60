//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// scenarioLog writes bench/truth's scenario TSV (the format of
// bench/trafficgen's -log): client server kind family start, start taken
// just before the connect, client the real source address and port.
type scenarioLog struct {
	mu sync.Mutex
	w  *bufio.Writer
	f  *os.File
}

func openScenarioLog(name string) (*scenarioLog, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("scenario log: %w", err)
	}
	l := &scenarioLog{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	fmt.Fprintln(l.w, "client\tserver\tkind\tfamily\tstart")
	return l, nil
}

func (l *scenarioLog) add(kind string, client, server netip.AddrPort, start time.Time) {
	fam := 4
	if server.Addr().Is6() && !server.Addr().Is4In6() {
		fam = 6
	}
	l.mu.Lock()
	fmt.Fprintf(l.w, "%s\t%s\t%s\t%d\t%d.%09d\n", client, server, kind, fam, start.Unix(), start.Nanosecond())
	l.mu.Unlock()
}

func (l *scenarioLog) close() error {
	if err := l.w.Flush(); err != nil {
		l.f.Close()
		return fmt.Errorf("scenario log: %w", err)
	}
	return l.f.Close()
}

// portPool hands out source ports below the kernel's ephemeral range, for
// connections whose port must be known before the connect (a connect a
// stopped server refuses leaves none to ask for; curl is told its port).
type portPool struct {
	lo, n int
	next  atomic.Int64
}

func newPortPool(lo, n int) *portPool { return &portPool{lo: lo, n: n} }

func (p *portPool) get() int { return p.lo + int(p.next.Add(1)-1)%p.n }

// dialOpts are the socket options of a Go client's connection.
type dialOpts struct {
	// rcvbuf, when set, caps the receive buffer before the connect (the
	// window is fixed at the handshake): a client that stops reading then
	// stalls the server's send at once instead of after megabytes.
	rcvbuf int
	// bindPort binds a source port from d.ports, so that a refused
	// connect is still logged with its 4-tuple.
	bindPort bool
}

// dial connects to server for kind and logs the connection. A connect that
// fails is logged only when its port was bound.
func (d *driver) dial(kind string, server netip.AddrPort, o dialOpts) (*net.TCPConn, error) {
	var local netip.AddrPort
	dl := net.Dialer{Timeout: 3 * time.Second}
	if o.bindPort {
		la := d.clientAddr(server)
		local = netip.AddrPortFrom(la, uint16(d.ports.get()))
		dl.LocalAddr = net.TCPAddrFromAddrPort(local)
	}
	dl.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if o.bindPort {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}
			if serr == nil && o.rcvbuf > 0 {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvbuf)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	start := time.Now()
	c, err := dl.DialContext(context.Background(), "tcp", server.String())
	d.count(kind).conns.Add(1)
	if err != nil {
		if o.bindPort {
			d.log.add(kind, local, server, start)
		}
		return nil, err
	}
	tc := c.(*net.TCPConn)
	d.log.add(kind, addrPort(tc.LocalAddr()), server, start)
	return tc, nil
}

// clientAddr is this namespace's address of server's family: the server's
// with the last byte 1 (mkrealtruth.sh's plan: .1 client, .2 server).
func (d *driver) clientAddr(server netip.AddrPort) netip.Addr {
	b := server.Addr().AsSlice()
	b[len(b)-1] = 1
	a, _ := netip.AddrFromSlice(b)
	return a
}

func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// drain reads until the peer closes or resets, or until d passes.
func drain(c net.Conn, d time.Duration) error {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 32<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
	}
}
