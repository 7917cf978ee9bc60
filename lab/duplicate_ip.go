//go:build linux

package lab

import (
	"bytes"
	"fmt"
	"net"
	"strings"

	"github.com/rstscope/rstscope/cause"
)

// duplicate-ip: client, server and server2 share one bridge, and server2
// holds the server's address. The client connects to server; then server2
// comes up and announces the address (gratuitous ARP, unsolicited neighbour
// advertisement), which overrides the client's neighbour entry. The client's next segment goes to server2,
// which has no such connection and answers RST (NO_SOCKET) from the
// server's address but its own MAC. The real server never sees it. The
// reset comes from neither endpoint of the connection nor from a device in
// its path, so its sender is recorded as unknown.
func init() {
	register(Scenario{
		Name:    "duplicate-ip",
		Cause:   cause.DuplicateIP,
		Summary: "a second host with the server's address takes over the client's neighbour entry and resets",
		layout:  lan,
		run: func(e *env) error {
			_, c, s, err := e.connected(dialOpts{})
			if err != nil {
				return err
			}
			if err := e.exchange(c, s, "hello"); err != nil {
				return err
			}
			if e.family == 6 {
				// On a bridge port the client's interface never got its
				// multicast route (ff00::/8, table local), so the
				// unsolicited advertisement to ff02::1 would be dropped
				// as Ip6InNoRoutes.
				if err := e.client.ip(e.ctx, "-6", "route", "add", "multicast", "ff00::/8", "dev", ifEndpoint, "table", "local"); err != nil {
					return err
				}
			}
			if err := e.announce(); err != nil {
				return fmt.Errorf("server2 announcing itself: %w", err)
			}
			if _, err := c.Write([]byte("still talking to the server?")); err != nil {
				return err
			}
			return e.awaitReset(c)
		},
		verdict: func(e *env, r Reset) (cause.ID, cause.Sender) {
			if r.From.Addr() == e.serverIP && bytes.Equal(r.SrcMAC, e.server2MAC) {
				return cause.DuplicateIP, cause.SenderUnknown
			}
			return cause.Unknown, e.senderOf(r)
		},
		client: exactly(1),
		server: exactly(0),
		kernel: kernelWant{reasons: []string{"NO_SOCKET"}},
	})
}

// announce brings server2 up and makes it announce the shared address the
// way a host does when its interface or MAC changes (arp_notify,
// ndisc_notify): a gratuitous ARP, or an unsolicited neighbour
// advertisement with the override flag, which replaces the MAC in the
// client's neighbour entry. (A neighbour solicitation would not: it only
// marks a reachable entry stale.) The addresses must be usable before the
// change, hence the MAC change after link-up.
func (e *env) announce() error {
	for _, k := range []string{"net.ipv4.conf.all.arp_notify", "net.ipv6.conf.all.ndisc_notify"} {
		if err := e.server2.sysctl(k, "1"); err != nil && !(e.family == 4 && strings.Contains(k, "ipv6")) {
			return err
		}
	}
	if err := e.server2.ip(e.ctx, "link", "set", ifEndpoint, "up"); err != nil {
		return err
	}
	if err := e.settle(); err != nil {
		return err
	}
	if err := e.server2.ip(e.ctx, "link", "set", ifEndpoint, "address", server2MAC); err != nil {
		return err
	}
	e.server2MAC, _ = net.ParseMAC(server2MAC)
	return e.settle()
}

// server2MAC is the address server2 takes when it announces itself.
const server2MAC = "02:00:00:99:00:02"
