package cause

import (
	"fmt"

	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// clientDir is the client's direction for this reset: the kernel's account
// settles it when it names a listener or a connecting socket, or the
// segment the reset answered was a SYN; otherwise flow.ClientDir decides.
func clientDir(ctx *Context) flow.Dir {
	k, d := &ctx.Kernel, ctx.Dir
	if k.Path == KernelStack || k.Path == KernelNetfilter {
		switch {
		case k.State == "LISTEN" || k.State == "SYN_RECV" || k.State == "NEW_SYN_RECV",
			k.InFlags.Has(packet.SYN) && !k.InFlags.Has(packet.ACK):
			return d.Other() // the reset's sender is the server
		case k.State == "SYN_SENT", k.InFlags.Has(packet.SYN | packet.ACK):
			return d
		}
	}
	return flow.ClientDir(&ctx.Conn, ctx.EphemeralPorts)
}

// seqPlace is where a reset's sequence number falls in its sender's space.
type seqPlace uint8

const (
	seqUnknown  seqPlace = iota // the sender's sequence space was never seen
	seqExact                    // exactly the next sequence number (RFC 9293 §3.10.7.3 accepts it outright)
	seqInWindow                 // inside the peer's receive window: accepted after a challenge ACK (RFC 5961 §3)
	seqOutside                  // outside the window: the peer ignores it
)

func (s seqPlace) String() string {
	return [...]string{"unknown", "exact", "in window", "outside the window"}[s]
}

// facts are the attribution facts every rule reads, computed once.
type facts struct {
	ctx       *Context
	c         *flow.Conn
	s, p      *flow.Endpoint // purported sender and its peer
	role      Sender
	peerRole  Sender
	clientDir flow.Dir
	// ctlShape: window 0 and no options, the shape of resets built without a
	// socket (tcp_v4_send_reset, nf_send_reset). An active reset from a live
	// socket (tcp_send_active_reset) carries the socket's window and options.
	ctlShape bool
	// ttlDelta is the reset's TTL minus the sender's usual TTL; positive
	// means the reset came from nearer the capture point than the sender.
	// ttlKnown is set only when both TTLs start from the same initial value
	// (64, 128 or 255) and differ by fewer than maxHops: a TTL from another
	// stack's initial value says "another device" but not where it is.
	ttlDelta int
	ttlKnown bool
	usualTTL int // the sender's usual TTL the delta is measured from
	// ttlOdd is set when the TTLs differ but ttlKnown could not be.
	ttlOdd  bool
	macDiff bool
	place   seqPlace
	// keptTalking: the purported sender sent more than resets afterwards.
	keptTalking bool
	// answersSYN: the peer's SYN is all the connection has seen from it.
	answersSYN bool
	// prior is the peer's last segment before the reset.
	prior    flow.Segment
	hasPrior bool
	evidence []string
}

func (f *facts) add(format string, args ...any) {
	f.evidence = append(f.evidence, fmt.Sprintf(format, args...))
}

func gatherFacts(ctx *Context) *facts {
	c := &ctx.Conn
	f := &facts{ctx: ctx, c: c, s: &c.Ep[ctx.Dir], p: &c.Ep[ctx.Dir.Other()]}
	f.clientDir = clientDir(ctx)
	if f.clientDir == ctx.Dir {
		f.role, f.peerRole = Client, Server
	} else {
		f.role, f.peerRole = Server, Client
	}
	r := &ctx.RST
	f.ctlShape = r.Window == 0 && r.Opt.Len == 0

	// TTL against the sender's own earlier packets, or its other flows.
	switch {
	case f.s.Packets > uint64(f.s.Resets):
		f.ttlKnown = true
		f.ttlDelta = int(r.TTL) - int(f.s.LastTTL)
		f.usualTTL = int(f.s.LastTTL)
		if r.TTL >= f.s.MinTTL && r.TTL <= f.s.MaxTTL {
			f.ttlDelta = 0
		}
	case laterTTL(ctx) != 0:
		// The sender's own packets after the reset (a forged reset often
		// comes first, before the endpoint has said anything).
		f.ttlKnown = true
		f.usualTTL = int(laterTTL(ctx))
		f.ttlDelta = int(r.TTL) - f.usualTTL
	case ctx.SenderHost.Seen:
		f.ttlKnown = true
		if r.TTL > ctx.SenderHost.MaxTTL {
			f.usualTTL = int(ctx.SenderHost.MaxTTL)
		} else if r.TTL < ctx.SenderHost.MinTTL {
			f.usualTTL = int(ctx.SenderHost.MinTTL)
		} else {
			f.usualTTL = int(r.TTL)
		}
		f.ttlDelta = int(r.TTL) - f.usualTTL
	}
	if f.ttlKnown && f.ttlDelta != 0 {
		if initialTTL(r.TTL) != initialTTL(uint8(f.usualTTL)) || abs(f.ttlDelta) >= maxHops {
			f.ttlKnown, f.ttlOdd = false, true
			f.add("reset TTL %d, %s's packets had %d: another initial TTL, so no hop count", r.TTL, f.role, f.usualTTL)
		}
	}
	if f.s.HasMAC && r.HasMAC && f.s.MAC != r.SrcMAC && f.s.MACChanges == 0 && f.s.Packets > 0 {
		f.macDiff = true
	}

	// Sequence placement (RFC 9293 §3.10.7.3, RFC 5961 §3.2).
	seq := flow.Seq(r.Seq)
	switch {
	case f.p.HasAck && seq == f.p.HighAck, f.s.HasSeq && seq == f.s.NextSeq:
		f.place = seqExact
	case f.p.HasAck:
		win := uint32(f.p.Window)
		if f.p.SYNOpt.HasWScale && f.s.SYNOpt.HasWScale {
			win <<= min(f.p.SYNOpt.WScale, 14)
		}
		if seq.InWindow(f.p.HighAck, max(win, 1)) {
			f.place = seqInWindow
		} else {
			f.place = seqOutside
		}
	case f.s.HasSeq:
		f.place = seqOutside
	}

	if f.p.Packets > 0 {
		f.prior, f.hasPrior = f.p.LastSeg, true
	}
	for _, l := range ctx.After {
		if l.Dir == ctx.Dir && !l.Flags.Has(packet.RST) {
			f.keptTalking = true
			break
		}
	}
	f.answersSYN = !f.s.HasSeq && f.p.SawSYN && f.p.Payload == 0 && !f.p.SawFIN &&
		!f.p.SYNFlags.Has(packet.ACK) && r.Flags.Has(packet.ACK) && r.Ack == uint32(f.p.ISN)+1
	return f
}

// maxHops is the largest TTL difference read as a path length.
const maxHops = 32

// initialTTL guesses the TTL a packet started with: the usual initial
// values are 32, 64, 128 and 255 (RFC 1700 recommends 64; Windows uses 128,
// network gear 255).
func initialTTL(ttl uint8) int {
	for _, t := range [...]int{32, 64, 128} {
		if int(ttl) <= t {
			return t
		}
	}
	return 255
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// laterTTL is the TTL of the purported sender's first non-reset packet after
// the reset, or 0.
func laterTTL(ctx *Context) uint8 {
	for _, l := range ctx.After {
		if l.Dir == ctx.Dir && !l.Flags.Has(packet.RST) {
			return l.TTL
		}
	}
	return 0
}
