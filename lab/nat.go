//go:build linux

package lab

import (
	"fmt"

	"github.com/rstscope/rstscope/cause"
)

// nat: the router masquerades the client behind its own server-side
// address with random source ports (nftables `masquerade random`), so the
// server's capture shows the client at another address and port than the
// client's capture does: the two captures of one connection share no
// 4-tuple. They exist for the two-capture join (sighting/), which matches
// connections on sequence numbers and payload instead. Two resets cross
// the NAT: the client's abort (seen at both ends) and a reject rule on the
// router cutting the established connection (seen only at the client,
// made between the two capture points).
func init() {
	register(Scenario{
		Name:    "application-abort",
		Variant: "nat",
		Cause:   cause.ApplicationAbort,
		Summary: "the client aborts (SO_LINGER {1, 0}) a connection the router masquerades",
		run: func(e *env) error {
			if err := e.nft(e.router, masquerade); err != nil {
				return err
			}
			_, c, s, err := e.established(dialOpts{}, "request", "response")
			if err != nil {
				return err
			}
			if err := c.SetLinger(0); err != nil {
				return err
			}
			c.Close()
			return e.awaitReset(s)
		},
		verdict: func(e *env, r Reset) (cause.ID, cause.Sender) { return cause.ApplicationAbort, e.natSender(r) },
		client:  exactly(1),
		server:  exactly(1),
		kernel:  kernelWant{reasons: []string{"TCP_STATE"}},
	})
	register(Scenario{
		Name:    "firewall-reject",
		Variant: "router-midflow-nat",
		Cause:   cause.FirewallReject,
		Summary: "a reject rule loaded on a masquerading router cuts an established connection",
		run: func(e *env) error {
			if err := e.nft(e.router, masquerade); err != nil {
				return err
			}
			_, c, _, err := e.established(dialOpts{}, "before the rule", "reply")
			if err != nil {
				return err
			}
			// The forward hook sees the client's segment before source
			// NAT (postrouting), with its own addresses.
			reject := fmt.Sprintf(`table inet rstlab {
	chain forward {
		type filter hook forward priority 0; policy accept;
		tcp dport %d tcp flags & (syn|ack) == ack counter reject with tcp reset
	}
}`, e.port)
			if err := e.nft(e.router, reject); err != nil {
				return err
			}
			if _, err := c.Write([]byte("after the rule")); err != nil {
				return err
			}
			return e.awaitReset(c)
		},
		verdict: func(e *env, r Reset) (cause.ID, cause.Sender) { return cause.FirewallReject, cause.Middlebox },
		client:  exactly(1),
		server:  exactly(0),
		kernel:  kernelWant{noSendReset: true, counter: true},
	})
}

// masquerade rewrites the source address and port of what leaves the
// router toward the server.
var masquerade = fmt.Sprintf(`table inet rstlab_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname %q masquerade random
	}
}`, ifRouterS)

// natSender is senderOf for a run whose client the router masquerades: in
// the server's capture the client carries the router's address.
func (e *env) natSender(r Reset) cause.Sender {
	if r.From.Addr() == e.routerSIP {
		return cause.Client
	}
	return e.senderOf(r)
}
