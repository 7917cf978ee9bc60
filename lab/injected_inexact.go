//go:build linux

package lab

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstscope/rstscope/cause"
)

// inexactOffset is how far past the client's rcv_nxt the forgery's sequence
// lands: well inside the window the client advertises (63 << 10 = 64,512
// bytes on its ACKs in the committed runs), so RFC 5961 §3.2 applies —
// neither out of window (dropped silently) nor exact (accepted).
const inexactOffset = 1000

// injected-inexact-seq: the server streams data; the router forges a RST
// from the server whose sequence is in the client's window but not the
// one it expects, as an injector guessing the sequence sends. To make the
// sequence and what follows the only tells, the forgery copies the
// server's own TTL, its IP ID habit (the next ID), IPv6 flow label and
// window. Linux answers with a challenge ACK (tcp_validate_incoming →
// tcp_send_challenge_ack) and keeps the connection; the server's stream
// carries on and both ends close with FINs. The run fails unless the
// client's TcpExtTCPChallengeACK counter rose.
func init() {
	register(Scenario{
		Name:    "injected",
		Variant: "inexact-seq",
		Cause:   cause.Injected,
		Summary: "the router forges an in-window but inexact RST from the server; the client answers a challenge ACK and the stream goes on",
		run: func(e *env) error {
			t, err := e.openTap(e.router, ifRouterC)
			if err != nil {
				return err
			}
			_, c, s, err := e.connected(dialOpts{})
			if err != nil {
				return err
			}
			before, err := e.client.tcpExt("TCPChallengeACK")
			if err != nil {
				return err
			}
			const ticks = 10
			stream := make(chan error, 1)
			go func() { stream <- tick(s, 50*time.Millisecond, ticks) }()
			seen, err := e.serverData(t, time.Now().Add(ioTimeout))
			if err != nil {
				return err
			}
			rcvNxt := seen.tcp.Seq + uint32(len(seen.tcp.Payload))
			rst := forged{srcMAC: seen.srcMAC, dstMAC: seen.dstMAC, from: seen.from, to: seen.to,
				ttl: seen.ttl, ipID: seen.ipID + 1, flow: seen.flow,
				tcp: layers.TCP{Seq: rcvNxt + inexactOffset, RST: true, Window: seen.tcp.Window}}
			if err := sendForged(t, rst); err != nil {
				return err
			}
			mimic := fmt.Sprintf("IP ID %#x (the server's next)", rst.ipID)
			if e.family == 6 {
				mimic = fmt.Sprintf("flow label %#x", rst.flow)
			}
			e.note("forged RST seq %d (the client's rcv_nxt %d + %d), TTL %d, %s and window %d as the server's",
				rst.tcp.Seq, rcvNxt, inexactOffset, rst.ttl, mimic, rst.tcp.Window)
			// The client reads every tick: the connection lived on.
			c.SetReadDeadline(time.Now().Add(ioTimeout))
			r := bufio.NewReader(c)
			for i := range ticks {
				line, err := r.ReadString('\n')
				if err != nil {
					return fmt.Errorf("client reading tick %d after the forged reset: %w", i, err)
				}
				if want := fmt.Sprintf("tick %d\n", i); line != want {
					return fmt.Errorf("client read %q, want %q", strings.TrimSpace(line), strings.TrimSpace(want))
				}
			}
			if err := <-stream; err != nil {
				return fmt.Errorf("server's stream: %w", err)
			}
			after, err := e.client.tcpExt("TCPChallengeACK")
			if err != nil {
				return err
			}
			e.note("client's TcpExtTCPChallengeACK %d before, %d after", before, after)
			if after <= before {
				return errors.New("the client sent no challenge ACK (TcpExtTCPChallengeACK did not rise): the forgery was not an in-window inexact reset")
			}
			return closeBoth(c, s)
		},
		verdict: func(e *env, r Reset) (cause.ID, cause.Sender) { return cause.Injected, cause.Middlebox },
		client:  exactly(1),
		server:  exactly(0),
		kernel:  kernelWant{noSendReset: true},
	})
}
