//go:build linux

package lab

import (
	"errors"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstscope/rstscope/cause"
)

// farTTL and farIPID mark the forgeries of an injector far from both
// endpoints: their own segments reach the other end with TTL 63 (one hop)
// and the router's with 64, so 47 is 16 hops off the endpoints, as the
// DPI boxes and censors of the public captures were (TTL 21 where the
// server's packets had 106; 17 hops off in the lab trial).
const (
	farTTL  = 47
	farIPID = 0x4450 // "DP"
)

// injected-both-ways: the server streams data; the router, reading the
// client link, forges at once a RST from the server to the client (seq =
// the client's rcv_nxt) and a RST from the client to the server (seq =
// the server's rcv_nxt, the ack of the server's own segment), both with
// TTL 47 and the same IP ID habit, as DPI boxes and censors tear down a
// flow. Both ends accept their reset; neither endpoint sends one. Each
// capture holds only the reset forged toward its end: a reset that
// arrived at one end and never left the other.
func init() {
	register(Scenario{
		Name:    "injected",
		Variant: "both-ways",
		Cause:   cause.Injected,
		Summary: "the router forges a RST to each end at once into a live stream, with TTL 47 (16 hops off the endpoints)",
		run: func(e *env) error {
			tc, err := e.openTap(e.router, ifRouterC)
			if err != nil {
				return err
			}
			// Only written to: the forgery toward the server leaves on its link.
			ts, err := e.openTap(e.router, ifRouterS)
			if err != nil {
				return err
			}
			_, c, s, err := e.connected(dialOpts{})
			if err != nil {
				return err
			}
			stream := make(chan error, 1)
			go func() { stream <- tick(s, 100*time.Millisecond, 50) }()
			seen, err := e.serverData(tc, time.Now().Add(ioTimeout))
			if err != nil {
				return err
			}
			toClient := forged{srcMAC: seen.srcMAC, dstMAC: seen.dstMAC, from: seen.from, to: seen.to,
				ttl: farTTL, ipID: farIPID, tcp: layers.TCP{Seq: seen.tcp.Seq + uint32(len(seen.tcp.Payload)), RST: true}}
			// The client sends no data, so the ack of the server's segment
			// is the server's rcv_nxt whatever the client acknowledges since.
			toServer := forged{srcMAC: e.routerSMAC, dstMAC: e.serverMAC, from: seen.to, to: seen.from,
				ttl: farTTL, ipID: farIPID + 1, tcp: layers.TCP{Seq: seen.tcp.Ack, RST: true}}
			if err := sendForged(tc, toClient); err != nil {
				return err
			}
			if err := sendForged(ts, toServer); err != nil {
				return err
			}
			e.note("forged RST to the client seq %d and to the server seq %d, TTL %d, IP ID %#x and %#x", toClient.tcp.Seq, toServer.tcp.Seq, farTTL, farIPID, farIPID+1)
			if err := e.awaitReset(s); err != nil {
				return fmt.Errorf("server after its forged reset: %w", err)
			}
			// A tick the tap had not yet seen when it forged makes the
			// client's reset inexact (it answers a challenge ACK and lives
			// on); the server is dead by now, so the last data segment the
			// tap saw holds the client's rcv_nxt: forge again from it.
			for attempt := 1; ; attempt++ {
				if err := e.awaitResetWithin(c, 300*time.Millisecond); err == nil {
					break
				}
				if attempt == 3 {
					return errors.New("the client outlived three forged resets")
				}
				last, err := e.lastServerData(tc, seen)
				if err != nil {
					return err
				}
				toClient.tcp.Seq = last.tcp.Seq + uint32(len(last.tcp.Payload))
				if err := sendForged(tc, toClient); err != nil {
					return err
				}
				e.note("the client lived on; forged again with seq %d", toClient.tcp.Seq)
			}
			if !ended(stream, ioTimeout) {
				return errors.New("the server's stream outlived its forged reset")
			}
			return nil
		},
		verdict: func(e *env, r Reset) (cause.ID, cause.Sender) { return cause.Injected, cause.Middlebox },
		// One forgery toward the client; up to two more if a tick raced
		// the first.
		client: count{1, 3},
		server: exactly(1),
		kernel: kernelWant{noSendReset: true},
	})
}

// serverData returns the next data segment the server sends toward the
// client, as the tap on the client link sees it leave the router.
func (e *env) serverData(t *tap, deadline time.Time) (segment, error) {
	for {
		seen, err := t.next(deadline)
		if err != nil {
			return segment{}, err
		}
		if seen.outgoing && seen.from == e.serverAP() && len(seen.tcp.Payload) > 0 {
			return seen, nil
		}
	}
}

// lastServerData drains the tap and returns the latest of the server's data
// segments, starting from last; it stops once the link has been quiet for
// 50 ms (the server sends a tick every 100 ms at most).
func (e *env) lastServerData(t *tap, last segment) (segment, error) {
	for {
		seen, err := e.serverData(t, time.Now().Add(50*time.Millisecond))
		if errors.Is(err, errTapQuiet) {
			return last, nil
		}
		if err != nil {
			return segment{}, err
		}
		if int32(seen.tcp.Seq-last.tcp.Seq) > 0 {
			last = seen
		}
	}
}

// sendForged builds f's frame and writes it onto t's link.
func sendForged(t *tap, f forged) error {
	frame, err := f.frame()
	if err != nil {
		return err
	}
	return t.send(frame)
}
