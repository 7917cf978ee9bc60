//go:build linux

package lab

import (
	"fmt"
	"io"
	"time"
)

// control: a connection that carries data and closes cleanly with FIN from
// both sides. No reset on the wire, none in the kernel.
func init() {
	register(Scenario{
		Name:    "control",
		Summary: "data both ways, then a clean FIN close from each side: no reset",
		run: func(e *env) error {
			_, c, s, err := e.established(dialOpts{}, "hello", "world")
			if err != nil {
				return err
			}
			c.Close()
			s.SetReadDeadline(time.Now().Add(ioTimeout))
			if _, err := s.Read(make([]byte, 1)); err != io.EOF {
				return fmt.Errorf("waiting for the client's FIN: got %v, want EOF", err)
			}
			return s.Close()
		},
		client: exactly(0),
		server: exactly(0),
		kernel: kernelWant{noSendReset: true},
	})
}
