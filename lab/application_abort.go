//go:build linux

package lab

import "github.com/rstscope/rstscope/cause"

// application-abort: the client sets SO_LINGER {on, 0} and closes an
// established connection; close() sends RST instead of FIN. Linux 6.18
// reports this as TCP_STATE (not ABORT_ON_LINGER).
func init() {
	register(Scenario{
		Name:    "application-abort",
		Cause:   cause.ApplicationAbort,
		Summary: "the client sets SO_LINGER {1, 0} and closes an established connection",
		run: func(e *env) error {
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
		client: exactly(1),
		server: exactly(1),
		kernel: kernelWant{reasons: []string{"TCP_STATE"}},
	})
}
