//go:build linux

package lab

import "github.com/rstscope/rstscope/cause"

// unread-data-close: the client's request reaches the server, which closes
// without reading it; tcp_close() finds unread data and sends RST instead of
// FIN (RFC 2525 §2.17), reason TCP_ABORT_ON_CLOSE.
func init() {
	register(Scenario{
		Name:    "unread-data-close",
		Cause:   cause.UnreadDataClose,
		Summary: "the server closes with the client's request unread in its receive buffer",
		run: func(e *env) error {
			_, c, s, err := e.connected(dialOpts{})
			if err != nil {
				return err
			}
			if _, err := c.Write([]byte("a request the server never reads")); err != nil {
				return err
			}
			if err := e.awaitUnread(s); err != nil {
				return err
			}
			s.Close()
			return e.awaitReset(c)
		},
		client: exactly(1),
		server: exactly(1),
		kernel: kernelWant{reasons: []string{"TCP_ABORT_ON_CLOSE"}},
	})
}
