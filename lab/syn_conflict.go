//go:build linux

package lab

import "github.com/rstscope/rstscope/cause"

// synConflictPort is the client's fixed source port, reused by its second SYN.
const synConflictPort = 40999

// syn-conflict: the client, bound to a fixed port, loses its connection
// silently (its abort RST cannot leave the host), then connects again from
// the same port. The server still holds that 4-tuple and answers the SYN
// with a challenge ACK (RFC 5961 §4); the client in SYN-SENT finds the ACK
// unacceptable and resets (TCP_INVALID_ACK_SEQUENCE), which clears the
// server's old connection, and its retransmitted SYN a second later
// succeeds.
func init() {
	register(Scenario{
		Name:    "syn-conflict",
		Cause:   cause.SYNConflict,
		Summary: "a client reconnects from the same port while the server still holds the old connection",
		run: func(e *env) error {
			l, c, s, err := e.connected(dialOpts{localPort: synConflictPort})
			if err != nil {
				return err
			}
			if err := e.exchange(c, s, "first life"); err != nil {
				return err
			}
			if err := e.loseSilently(e.client, e.serverIP, c); err != nil {
				return err
			}
			c2, s2, err := e.connect(l, dialOpts{localPort: synConflictPort})
			if err != nil {
				return err
			}
			return e.exchange(c2, s2, "second life")
		},
		client: exactly(1),
		server: exactly(1),
		kernel: kernelWant{reasons: []string{"TCP_INVALID_ACK_SEQUENCE"}},
	})
}
