//go:build linux

package lab

import (
	"fmt"

	"github.com/rstscope/rstscope/cause"
)

// firewall-reject: an nftables rule `reject with tcp reset` refuses the
// client although the server listens. nf_send_reset builds the RST (IP ID
// 0, window 0, no options) and never passes the TCP tracepoints; the
// rule's counter is the kernel's witness. The rule sits on the router in
// the path (sender middlebox, TTL one hop nearer than the server's) or in
// the server host's own input hook (sender server), and refuses either the
// SYN or, loaded once the connection is up, the client's next data segment
// (a policy change cutting live connections).
//
// Measured: a SYN refused by the server host's firewall is answered with
// the very bytes a closed port sends over IPv4 (TTL, IP ID 0, DF, window
// 0); over IPv6 only the flow label tells them apart (the kernel's reset
// carries one, nf_send_reset6 does not).
func init() {
	for _, v := range []struct {
		variant, summary, hook string
		midflow                bool
		sender                 cause.Sender
		server                 count
		wire                   cause.ID
		wireWhy                string
	}{
		{"router", "a reject rule on the router refuses the client's SYN", "forward", false, cause.Middlebox, exactly(0), "", ""},
		{"host", "a reject rule on the server host's input hook refuses the client's SYN", "input", false, cause.Server, exactly(1),
			cause.ClosedPort, "nf_send_reset builds the same RST as the kernel's answer for a closed port: same host, TTL, IP ID 0, DF, window 0, no options"},
		{"router-midflow", "a reject rule loaded on the router cuts an established connection", "forward", true, cause.Middlebox, exactly(0), "", ""},
		{"host-midflow", "a reject rule loaded on the server host cuts an established connection", "input", true, cause.Server, exactly(1),
			cause.HalfOpen, "nf_send_reset answers the segment exactly as the kernel does for a connection it no longer holds: same host, TTL, IP ID 0, seq = the segment's ack, no options"},
	} {
		register(Scenario{
			Name:    "firewall-reject",
			Variant: v.variant,
			Cause:   cause.FirewallReject,
			Summary: v.summary,
			run: func(e *env) error {
				l, err := e.listen(e.server)
				if err != nil {
					return err
				}
				where := e.router
				if v.hook == "input" {
					where = e.server
				}
				match := "tcp flags & (syn|ack) == syn"
				if v.midflow {
					match = "tcp flags & (syn|ack) == ack"
				}
				rules := fmt.Sprintf(`table inet rstlab {
	chain %[1]s {
		type filter hook %[1]s priority 0; policy accept;
		tcp dport %[2]d %[3]s counter reject with tcp reset
	}
}`, v.hook, e.port, match)
				if !v.midflow {
					// A first connection succeeds before the rule is
					// loaded, as the server's other services would: it
					// shows what the server's own packets look like.
					c, s, err := e.connect(l, dialOpts{})
					if err != nil {
						return err
					}
					if err := e.exchange(c, s, "before the rule"); err != nil {
						return err
					}
					if err := closeBoth(c, s); err != nil {
						return err
					}
					if err := e.nft(where, rules); err != nil {
						return err
					}
					if _, err := e.dial(e.client, e.serverAP(), dialOpts{}); err == nil {
						return errNoReset
					}
					return nil
				}
				c, s, err := e.connect(l, dialOpts{})
				if err != nil {
					return err
				}
				if err := e.exchange(c, s, "before the rule"); err != nil {
					return err
				}
				if err := e.exchange(s, c, "reply"); err != nil {
					return err
				}
				if err := e.nft(where, rules); err != nil {
					return err
				}
				if _, err := c.Write([]byte("after the rule")); err != nil {
					return err
				}
				return e.awaitReset(c)
			},
			verdict: func(e *env, r Reset) (cause.ID, cause.Sender) { return cause.FirewallReject, v.sender },
			wire:    v.wire,
			wireWhy: v.wireWhy,
			client:  exactly(1),
			server:  v.server,
			kernel:  kernelWant{noSendReset: true, counter: true},
		})
	}
}
