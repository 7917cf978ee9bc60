//go:build linux

package lab

import (
	"fmt"
	"io"
	"time"

	"github.com/rstscope/rstscope/cause"
	"golang.org/x/sys/unix"
)

// data-after-close: the server closes (FIN), the client half-closes
// nothing and sends more data; the server, whose application is gone,
// answers RST. With default settings the closed socket is already a
// FIN_WAIT2 timewait socket (reason TCP_TIMEWAIT_SOCKET); with TCP_LINGER2
// above 60 s the full socket lingers and tcp_rcv_state_process aborts it
// (TCP_ABORT_ON_DATA).
func init() {
	for _, v := range []struct {
		variant, summary, reason string
		linger2                  int
	}{
		{"", "the server closes; the client sends more data; the closed side answers RST", "TCP_TIMEWAIT_SOCKET", 0},
		{"linger2", "as data-after-close, with TCP_LINGER2 120 s on the server socket", "TCP_ABORT_ON_DATA", 120},
	} {
		register(Scenario{
			Name:    "data-after-close",
			Variant: v.variant,
			Cause:   cause.DataAfterClose,
			Summary: v.summary,
			run: func(e *env) error {
				_, c, s, err := e.connected(dialOpts{})
				if err != nil {
					return err
				}
				if err := e.exchange(c, s, "request"); err != nil {
					return err
				}
				if v.linger2 != 0 {
					if err := setInt(s, unix.IPPROTO_TCP, unix.TCP_LINGER2, v.linger2); err != nil {
						return fmt.Errorf("setting TCP_LINGER2: %w", err)
					}
				}
				s.Close()
				c.SetReadDeadline(time.Now().Add(ioTimeout))
				if _, err := c.Read(make([]byte, 1)); err != io.EOF {
					return fmt.Errorf("waiting for the server's FIN: got %v, want EOF", err)
				}
				if err := e.settle(); err != nil {
					return err
				}
				if _, err := c.Write([]byte("more data after your FIN")); err != nil {
					return err
				}
				return e.awaitReset(c)
			},
			client: exactly(1),
			server: exactly(1),
			kernel: kernelWant{reasons: []string{v.reason}},
		})
	}
}
