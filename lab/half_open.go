//go:build linux

package lab

import (
	"fmt"

	"github.com/rstscope/rstscope/cause"
)

// half-open: the server loses an established connection without a word on
// the wire (a blackhole route stands in for a crash or a dead link: its
// abort RST is logged by the kernel but never leaves the host), then the
// client sends on the old connection and the server answers with a bare
// RST. With no listener the reason is NO_SOCKET; with a listener restarted
// on the port the listener refuses the ACK-bearing segment with TCP_FLAGS.
func init() {
	for _, v := range []struct {
		variant, summary, reason string
		relisten                 bool
	}{
		{"", "the server loses the connection silently; the client's next segment draws a RST", "NO_SOCKET", false},
		{"relisten", "as half-open, but a new listener now holds the server port", "TCP_FLAGS", true},
	} {
		register(Scenario{
			Name:    "half-open",
			Variant: v.variant,
			Cause:   cause.HalfOpen,
			Summary: v.summary,
			run: func(e *env) error {
				l, c, s, err := e.established(dialOpts{}, "hello", "hello back")
				if err != nil {
					return err
				}
				if err := e.loseSilently(e.server, e.clientIP, s); err != nil {
					return err
				}
				l.Close()
				if v.relisten {
					if _, err := e.listen(e.server); err != nil {
						return err
					}
				}
				if _, err := c.Write([]byte("are you still there?")); err != nil {
					return fmt.Errorf("writing on the half-open connection: %w", err)
				}
				return e.awaitReset(c)
			},
			client: exactly(1),
			server: exactly(1),
			kernel: kernelWant{reasons: []string{v.reason}},
		})
	}
}
