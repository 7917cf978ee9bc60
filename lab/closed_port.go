//go:build linux

package lab

import "github.com/rstscope/rstscope/cause"

// closed-port: a SYN to a port nobody listens on; the server's kernel
// answers RST+ACK (seq 0, ack SYN+1), reason NO_SOCKET.
func init() {
	register(Scenario{
		Name:    "closed-port",
		Cause:   cause.ClosedPort,
		Summary: "the client connects to a server port with no listener",
		run: func(e *env) error {
			if _, err := e.dial(e.client, e.serverAP(), dialOpts{}); err == nil {
				return errNoReset
			}
			return nil
		},
		client: exactly(1),
		server: exactly(1),
		kernel: kernelWant{reasons: []string{"NO_SOCKET"}},
	})
}
