//go:build linux

package lab

import (
	"fmt"
	"net"

	"github.com/rstscope/rstscope/cause"
	"golang.org/x/sys/unix"
)

// accept-queue-overflow: a listener with backlog 1 that never accepts,
// tcp_abort_on_overflow=1 and tcp_syncookies=0 in the server namespace.
// The router drops the clients' pure ACKs, so a handshake completes at the
// server only when its client sends a byte. Three clients are staged so the
// third completes when the queue (backlog+1 = 2) is full: the server
// resets it with INVALID_SYN, state LISTEN, and ListenOverflows rises.
func init() {
	register(Scenario{
		Name:    "accept-queue-overflow",
		Cause:   cause.AcceptQueueOverflow,
		Summary: "a third client completes its handshake to a full backlog-1 listener that never accepts",
		run: func(e *env) error {
			for k, v := range map[string]string{"net.ipv4.tcp_abort_on_overflow": "1", "net.ipv4.tcp_syncookies": "0"} {
				if err := e.server.sysctl(k, v); err != nil {
					return err
				}
			}
			if err := e.rawListen(e.server, 1); err != nil {
				return err
			}
			hold := fmt.Sprintf(`table inet rstlab_hold {
	chain forward {
		type filter hook forward priority 0; policy accept;
		%s saddr %s tcp flags & (syn|ack|fin|rst|psh) == ack drop
	}
}`, e.ipKw(), e.clientIP)
			if err := e.nft(e.router, hold); err != nil {
				return err
			}
			// The listener's request queue also holds backlog+1 (then SYNs
			// are dropped, syncookies being off), so at most two handshakes
			// may be half done at once: A and B wait, A completes, C
			// starts, then B fills the queue and C overflows it.
			dial := func() (*net.TCPConn, error) { return e.dial(e.client, e.serverAP(), dialOpts{}) }
			complete := func(c *net.TCPConn) error {
				c.Write([]byte("x"))
				return e.settle()
			}
			a, err := dial()
			if err != nil {
				return err
			}
			b, err := dial()
			if err != nil {
				return err
			}
			if err := complete(a); err != nil {
				return err
			}
			c, err := dial()
			if err != nil {
				return err
			}
			if err := complete(b); err != nil {
				return err
			}
			if err := complete(c); err != nil {
				return err
			}
			if err := e.awaitReset(c); err != nil {
				return err
			}
			if _, err := e.router.exec(e.ctx, "", "nft", "delete", "table", "inet", "rstlab_hold"); err != nil {
				return err
			}
			e.nftNS = nil
			return nil
		},
		client: exactly(1),
		server: exactly(1),
		kernel: kernelWant{reasons: []string{"INVALID_SYN"}},
	})
}

// rawListen listens on the server port inside n with an explicit backlog,
// which Go's net package does not offer (it reads somaxconn).
func (e *env) rawListen(n *netns, backlog int) error {
	return n.do(func() error {
		domain := unix.AF_INET
		var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(e.port)}
		if e.family == 6 {
			domain, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(e.port)}
		}
		fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening listener: %w", err)
		}
		e.keep(fdCloser(fd))
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(fd, sa); err != nil {
			return fmt.Errorf("binding listener: %w", err)
		}
		if err := unix.Listen(fd, backlog); err != nil {
			return fmt.Errorf("listening: %w", err)
		}
		return nil
	})
}

type fdCloser int

func (f fdCloser) Close() error { return unix.Close(int(f)) }
