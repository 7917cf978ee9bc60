//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// env is what a scenario's run function works with: the topology, a
// context that bounds the run, and helpers whose sockets are closed only
// after the captures stop.
type env struct {
	ctx context.Context
	*topology
	closers []io.Closer
	nftNS   []*netns
	notes   []string
}

// ioTimeout bounds every blocking socket call a scenario makes.
const ioTimeout = 3 * time.Second

func (e *env) serverAP() netip.AddrPort { return netip.AddrPortFrom(e.serverIP, e.port) }

// ipKw is the nftables payload keyword for the run's family.
func (e *env) ipKw() string {
	if e.family == 6 {
		return "ip6"
	}
	return "ip"
}

func (e *env) network() string {
	if e.family == 6 {
		return "tcp6"
	}
	return "tcp4"
}

func (e *env) note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}

func (e *env) keep(c io.Closer) { e.closers = append(e.closers, c) }

func (e *env) closeAll() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i].Close()
	}
	e.closers = nil
}

// listen opens a listener on the server port, all addresses, inside n.
func (e *env) listen(n *netns) (*net.TCPListener, error) {
	var l *net.TCPListener
	err := n.do(func() error {
		var lc net.ListenConfig
		ln, err := lc.Listen(e.ctx, e.network(), fmt.Sprintf(":%d", e.port))
		if err != nil {
			return fmt.Errorf("listening in %s: %w", n.name, err)
		}
		l = ln.(*net.TCPListener)
		return nil
	})
	if err == nil {
		e.keep(l)
	}
	return l, err
}

func (e *env) accept(l *net.TCPListener) (*net.TCPConn, error) {
	l.SetDeadline(time.Now().Add(ioTimeout))
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, fmt.Errorf("accepting: %w", err)
	}
	e.keep(c)
	return c, nil
}

// dialOpts tunes one dial.
type dialOpts struct {
	localPort int                  // fixed source port (SO_REUSEADDR set), 0 for any
	keepAlive *net.KeepAliveConfig // nil: keepalive off
}

// dial connects from inside n to to.
func (e *env) dial(n *netns, to netip.AddrPort, o dialOpts) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: ioTimeout, KeepAlive: -1}
	if o.keepAlive != nil {
		d.KeepAliveConfig = *o.keepAlive
	}
	if o.localPort != 0 {
		d.LocalAddr = &net.TCPAddr{Port: o.localPort}
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1) })
			if err != nil {
				return err
			}
			return serr
		}
	}
	var conn *net.TCPConn
	err := n.do(func() error {
		c, err := d.DialContext(e.ctx, e.network(), to.String())
		if err != nil {
			return fmt.Errorf("dialing %s from %s: %w", to, n.name, err)
		}
		conn = c.(*net.TCPConn)
		return nil
	})
	if err == nil {
		e.keep(conn)
	}
	return conn, err
}

// connect dials the server and accepts the connection on l.
func (e *env) connect(l *net.TCPListener, o dialOpts) (client, server *net.TCPConn, err error) {
	client, err = e.dial(e.client, e.serverAP(), o)
	if err != nil {
		return nil, nil, err
	}
	server, err = e.accept(l)
	return client, server, err
}

// exchange writes msg on a and reads it on b.
func (e *env) exchange(a, b *net.TCPConn, msg string) error {
	if _, err := a.Write([]byte(msg)); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	b.SetReadDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(b, buf); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return nil
}

// nft loads a ruleset into n; every table it creates is read for counters.
func (e *env) nft(n *netns, ruleset string) error {
	if _, err := n.exec(e.ctx, ruleset, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("loading nftables rules in %s: %w", n.name, err)
	}
	e.nftNS = append(e.nftNS, n)
	return nil
}

var counterRE = regexp.MustCompile(`counter packets (\d+)`)

// counter sums the packet counters of every nftables rule the scenario
// set; ok is false when none of its rules has a counter.
func (e *env) counter() (total int, ok bool, err error) {
	for _, n := range e.nftNS {
		out, err := n.exec(context.Background(), "", "nft", "list", "ruleset")
		if err != nil {
			return 0, false, fmt.Errorf("reading nftables counters: %w", err)
		}
		for _, m := range counterRE.FindAllStringSubmatch(out, -1) {
			v, _ := strconv.Atoi(m[1])
			total, ok = total+v, true
		}
	}
	return total, ok, nil
}

// route adds ("add") or removes ("del") a blackhole route to addr in n: the
// host then cannot send to addr at all, as if it had crashed or lost its
// link, so a reset it tries to send never reaches the wire.
func (e *env) blackhole(n *netns, op string, addr netip.Addr) error {
	return n.ip(e.ctx, "route", op, "blackhole", netip.PrefixFrom(addr, addr.BitLen()).String())
}

// sleep waits d or until the run's context ends.
func (e *env) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-e.ctx.Done():
		return e.ctx.Err()
	}
}

// settle lets segments in flight arrive: the namespaces are a few
// microseconds apart, 50 ms is plenty and keeps a run quick.
func (e *env) settle() error { return e.sleep(50 * time.Millisecond) }

// setInt sets a socket option on a connection.
func setInt(c syscall.Conn, level, opt, v int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }); err != nil {
		return err
	}
	return serr
}

// loseSilently aborts conn inside n while n cannot reach peer, so the
// abort's RST is dropped by the routing table (the kernel still logs it on
// tcp_send_reset) and the peer is left holding a half-open connection.
func (e *env) loseSilently(n *netns, peer netip.Addr, conn *net.TCPConn) error {
	if err := e.blackhole(n, "add", peer); err != nil {
		return err
	}
	conn.SetLinger(0)
	conn.Close()
	if err := e.settle(); err != nil {
		return err
	}
	return e.blackhole(n, "del", peer)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// awaitReset waits until c's connection is gone (TCP_INFO state CLOSE),
// as a reset leaves it. Scenarios wait for their reset this way rather
// than sleep, so a loaded machine does not end a capture early.
func (e *env) awaitReset(c *net.TCPConn) error { return e.awaitResetWithin(c, ioTimeout) }

// awaitResetWithin is awaitReset giving up after d.
func (e *env) awaitResetWithin(c *net.TCPConn, d time.Duration) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		var info *unix.TCPInfo
		var ierr error
		if err := rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil {
			return err
		}
		if ierr != nil {
			return fmt.Errorf("reading TCP_INFO: %w", ierr)
		}
		if info.State == tcpClose {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return errors.New("no reset ended the connection in time")
}

// tcpClose is TCP_CLOSE from include/net/tcp_states.h.
const tcpClose = 7

// awaitUnread waits until c's receive buffer holds data the application
// has not read (SIOCINQ), so closing it now is a close with unread data.
func (e *env) awaitUnread(c *net.TCPConn) error {
	deadline := time.Now().Add(ioTimeout)
	for time.Now().Before(deadline) {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		n, serr := 0, error(nil)
		if err := rc.Control(func(fd uintptr) { n, serr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("reading receive queue length: %w", serr)
		}
		if n > 0 {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return errors.New("no data reached the receive buffer in time")
}

// closeBoth closes a connection cleanly with FIN from both ends: the client
// first, then the server once it has read the client's FIN.
func closeBoth(client, server *net.TCPConn) error {
	if err := client.Close(); err != nil {
		return fmt.Errorf("closing the client: %w", err)
	}
	server.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, err := io.Copy(io.Discard, server); err != nil {
		return fmt.Errorf("reading the client's FIN: %w", err)
	}
	return server.Close()
}

// established listens on the server, connects the client with o, and sends
// a request and a reply: the start most scenarios share.
func (e *env) established(o dialOpts, request, reply string) (l *net.TCPListener, client, server *net.TCPConn, err error) {
	if l, client, server, err = e.connected(o); err != nil {
		return nil, nil, nil, err
	}
	if err = e.exchange(client, server, request); err != nil {
		return nil, nil, nil, err
	}
	if err = e.exchange(server, client, reply); err != nil {
		return nil, nil, nil, err
	}
	return l, client, server, nil
}

// connected listens on the server and connects the client to it with o.
func (e *env) connected(o dialOpts) (l *net.TCPListener, client, server *net.TCPConn, err error) {
	if l, err = e.listen(e.server); err != nil {
		return nil, nil, nil, err
	}
	if client, server, err = e.connect(l, o); err != nil {
		return nil, nil, nil, err
	}
	return l, client, server, nil
}
