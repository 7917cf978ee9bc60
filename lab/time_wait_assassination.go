//go:build linux

package lab

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rstscope/rstscope/cause"
)

// time-wait-assassination (RFC 1337): the client closes first and sits in
// TIME-WAIT; the router then replays the client's last ACK, an old
// duplicate, to the server, which no longer has the connection and answers
// RST (NO_SOCKET). That RST carries exactly the TIME-WAIT socket's
// rcv_nxt, so with tcp_rfc1337=0 it kills the TIME-WAIT socket
// (tcp_timewait_state_process); with tcp_rfc1337=1 the socket ignores it.
// No tracepoint sees the kill, so the run checks the client's TIME-WAIT
// sockets with ss afterwards.
func init() {
	for _, v := range []struct{ variant, rfc1337, summary string }{
		{"rfc1337-0", "0", "a stray RST reaches a TIME-WAIT socket and kills it (tcp_rfc1337=0)"},
		{"rfc1337-1", "1", "a stray RST reaches a TIME-WAIT socket, which survives (tcp_rfc1337=1)"},
	} {
		register(Scenario{
			Name:    "time-wait-assassination",
			Variant: v.variant,
			Cause:   cause.TimeWaitAssassination,
			Summary: v.summary,
			run: func(e *env) error {
				if err := e.client.sysctl("net.ipv4.tcp_rfc1337", v.rfc1337); err != nil {
					return err
				}
				t, err := e.openTap(e.router, ifRouterS)
				if err != nil {
					return err
				}
				l, c, s, err := e.connected(dialOpts{})
				if err != nil {
					return err
				}
				l.Close()
				// The router remembers the last segment the client sends
				// through it: after the close, that is the final ACK.
				finalACK := t.watchLast(func(s segment) bool { return s.outgoing && s.from.Addr() == e.clientIP })
				defer finalACK()
				if err := e.exchange(c, s, "request"); err != nil {
					return err
				}
				if err := e.exchange(s, c, "response"); err != nil {
					return err
				}
				c.Close()
				s.SetReadDeadline(time.Now().Add(ioTimeout))
				if _, err := s.Read(make([]byte, 1)); err != io.EOF {
					return fmt.Errorf("waiting for the client's FIN: got %v, want EOF", err)
				}
				s.Close()
				if err := e.settle(); err != nil {
					return err
				}
				ack := finalACK()
				if ack.tcp == nil || ack.tcp.FIN || !ack.tcp.ACK {
					return errors.New("the router did not see the client's final ACK")
				}
				if n, err := e.timeWaits(); err != nil || n != 1 {
					return fmt.Errorf("client TIME-WAIT sockets before the replay: %d (%v), want 1", n, err)
				}
				frame, err := replay(ack).frame()
				if err != nil {
					return err
				}
				if err := t.send(frame); err != nil {
					return err
				}
				// Wait for the server's answer to pass the router, then
				// give the client a moment to act on it.
				for {
					seg, err := t.next(time.Now().Add(ioTimeout))
					if err != nil {
						return fmt.Errorf("waiting for the server's RST: %w", err)
					}
					if seg.from == e.serverAP() && seg.tcp.RST {
						break
					}
				}
				if err := e.settle(); err != nil {
					return err
				}
				n, err := e.timeWaits()
				if err != nil {
					return err
				}
				e.note("client TIME-WAIT sockets after the RST: %d (tcp_rfc1337=%s)", n, v.rfc1337)
				if want := map[string]int{"0": 0, "1": 1}[v.rfc1337]; n != want {
					return fmt.Errorf("client TIME-WAIT sockets after the RST: %d, want %d with tcp_rfc1337=%s", n, want, v.rfc1337)
				}
				return nil
			},
			client: exactly(1),
			server: exactly(1),
			kernel: kernelWant{reasons: []string{"NO_SOCKET"}},
		})
	}
}

// timeWaits counts the client's TIME-WAIT sockets.
func (e *env) timeWaits() (int, error) {
	out, err := e.client.exec(e.ctx, "", "ss", "-Htn", "state", "time-wait")
	if err != nil {
		return 0, fmt.Errorf("listing TIME-WAIT sockets: %w", err)
	}
	return len(strings.Fields(strings.TrimSpace(out))) / max(1, len(strings.Fields(firstLine(out)))), nil
}
