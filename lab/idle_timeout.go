//go:build linux

package lab

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rstscope/rstscope/cause"
	"golang.org/x/sys/unix"
)

// idle-timeout, two ways. keepalive: the client probes an idle connection
// every second while the router drops everything the server sends; after
// two unanswered probes the client's kernel gives up and sends RST
// (TCP_KEEPALIVE_TIMEOUT). conntrack: the router tracks connections with a
// 2 s established timeout and rejects, with a forged reset, a non-SYN
// segment that opens no known connection; the client's first segment after
// 2.5 s of silence gets that reset (sender middlebox, no kernel TCP reason).
func init() {
	register(Scenario{
		Name:    "idle-timeout",
		Variant: "keepalive",
		Cause:   cause.IdleTimeout,
		Summary: "keepalive probes go unanswered (the router drops the server's packets) and the client resets",
		timeout: 15 * time.Second,
		run: func(e *env) error {
			l, err := e.listen(e.server)
			if err != nil {
				return err
			}
			ka := &net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 2}
			c, s, err := e.connect(l, dialOpts{keepAlive: ka})
			if err != nil {
				return err
			}
			if err := e.exchange(c, s, "hello"); err != nil {
				return err
			}
			drop := fmt.Sprintf(`table inet rstlab_drop {
	chain forward {
		type filter hook forward priority 0; policy accept;
		%s saddr %s tcp sport %d drop
	}
}`, e.ipKw(), e.serverIP, e.port)
			if err := e.nft(e.router, drop); err != nil {
				return err
			}
			// Idle 1 s, then two probes a second apart: the kernel gives
			// up after about 3 s and the read fails with ETIMEDOUT.
			c.SetReadDeadline(time.Now().Add(8 * time.Second))
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, unix.ETIMEDOUT) {
				return fmt.Errorf("keepalive did not end the connection: got %v, want ETIMEDOUT", err)
			}
			return nil
		},
		client: exactly(1),
		server: exactly(1),
		kernel: kernelWant{reasons: []string{"TCP_KEEPALIVE_TIMEOUT"}},
	})
	register(Scenario{
		Name:    "idle-timeout",
		Variant: "conntrack",
		Cause:   cause.IdleTimeout,
		Summary: "the router's conntrack entry expires (2 s) and its rule rejects the resumed flow with a reset",
		timeout: 15 * time.Second,
		run: func(e *env) error {
			l, err := e.listen(e.server)
			if err != nil {
				return err
			}
			rules := `table inet rstlab {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ct state invalid counter reject with tcp reset
		ct state new tcp flags & (syn|ack|fin|rst) != syn counter reject with tcp reset
	}
}`
			if err := e.nft(e.router, rules); err != nil {
				return err
			}
			if err := e.router.sysctl("net.netfilter.nf_conntrack_tcp_timeout_established", "2"); err != nil {
				return err
			}
			c, s, err := e.connect(l, dialOpts{})
			if err != nil {
				return err
			}
			if err := e.exchange(c, s, "hello"); err != nil {
				return err
			}
			if err := e.sleep(2500 * time.Millisecond); err != nil {
				return err
			}
			if _, err := c.Write([]byte("back after a pause")); err != nil {
				return err
			}
			return e.awaitReset(c)
		},
		verdict: func(e *env, r Reset) (cause.ID, cause.Sender) { return cause.IdleTimeout, cause.Middlebox },
		client:  exactly(1),
		server:  exactly(0),
		kernel:  kernelWant{noSendReset: true, counter: true},
	})
}
