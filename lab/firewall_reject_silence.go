//go:build linux

package lab

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/cause"
)

// silenceHalf is half the silence of firewall-reject-router-after-silence:
// the rule is loaded this long after the last segment and the client
// speaks this long after that. 3 s in all is longer than the 2.5 s pause
// that idle-timeout-conntrack uses, so the two show the same gap.
const silenceHalf = 1500 * time.Millisecond

// firewall-reject-router-after-silence: the connection carries data both
// ways, then sits idle; ~1.5 s into the silence a rule refusing the
// client's non-SYN segments is loaded on the router, and the client's
// first segment after ~3 s is rejected with nf_send_reset's RST. No
// conntrack timeout is involved (the rule matches no ct state; the
// router tracks nothing). A firewall rule pushed while connections sit
// idle is the everyday case; on the wire it is the idle-timeout-conntrack
// reset to the byte.
func init() {
	register(Scenario{
		Name:    "firewall-reject",
		Variant: "router-after-silence",
		Cause:   cause.FirewallReject,
		Summary: "a reject rule loaded on the router during a 3 s silence refuses the client's next segment",
		timeout: 15 * time.Second,
		run: func(e *env) error {
			_, c, _, err := e.established(dialOpts{}, "before the silence", "reply")
			if err != nil {
				return err
			}
			if err := e.sleep(silenceHalf); err != nil {
				return err
			}
			reject := fmt.Sprintf(`table inet rstlab {
	chain forward {
		type filter hook forward priority 0; policy accept;
		tcp dport %d tcp flags & (syn|ack) == ack counter reject with tcp reset
	}
}`, e.port)
			if err := e.nft(e.router, reject); err != nil {
				return err
			}
			if err := e.sleep(silenceHalf); err != nil {
				return err
			}
			if _, err := c.Write([]byte("back after a pause")); err != nil {
				return err
			}
			return e.awaitReset(c)
		},
		verdict: func(e *env, r Reset) (cause.ID, cause.Sender) { return cause.FirewallReject, cause.Middlebox },
		wire:    cause.IdleTimeout,
		wireWhy: "a reject rule loaded during the silence builds the very RST a middlebox's idle timer makes (idle-timeout-conntrack): the first segment after a 3 s gap answered by nf_send_reset (IP ID 0, window 0, no options, TTL one hop nearer than the server's); only the router's ruleset tells a new rule from an expired state",
		client:  exactly(1),
		server:  exactly(0),
		kernel:  kernelWant{noSendReset: true, counter: true},
	})
}
