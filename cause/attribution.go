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
	// ttl is how the reset's TTL fits its purported sender's (see ttlFit);
	// usualTTL is the sender's TTL it was measured against, ttlDelta the
	// reset's TTL minus that (positive: sent from nearer the capture point)
	// and ttlFrom says whose packets gave the yardstick.
	ttl      ttlFit
	usualTTL int
	ttlDelta int
	ttlFrom  string
	// ipidNext: an IPv4 reset whose IP ID continues its sender's own
	// sequence (1 to ipidStep past the sender's last non-zero ID): the
	// sender's socket built it (Linux's live-socket resets carry the
	// socket's inet_id; a device forging the address cannot know it).
	ipidNext bool
	macDiff  bool
	place    seqPlace
	// answersSYN: the peer's SYN is all the connection has seen from it.
	answersSYN bool
	// prior is the peer's last segment before the reset.
	prior    flow.Segment
	hasPrior bool
	evidence []string
	// cause and alts are set by rules that pick among several causes, and
	// by any rule that leaves alternatives open.
	cause ID
	alts  []Alternative
}

// alt records a cause the evidence leaves open, with its probability.
func (f *facts) alt(id ID, p float64) {
	f.alts = append(f.alts, Alternative{Cause: id, Probability: p})
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

	f.fitTTL()
	if r.IPVersion == 4 && f.s.LastIPID != 0 && f.s.Packets > uint64(f.s.Resets)+1 && f.s.IPIDZero == 0 {
		step := r.IPID - f.s.LastIPID // uint16 arithmetic wraps as the counter does
		f.ipidNext = step >= 1 && step <= ipidStep
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
		if seq.InWindow(f.p.HighAck, max(f.peerWindow(), 1)) {
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
	f.answersSYN = !f.s.HasSeq && f.p.SawSYN && f.p.Payload == 0 && !f.p.SawFIN &&
		!f.p.SYNFlags.Has(packet.ACK) && r.Flags.Has(packet.ACK) && r.Ack == uint32(f.p.ISN)+1
	return f
}

// ttlFit is how a reset's TTL compares with its purported sender's.
type ttlFit uint8

const (
	ttlUnknown    ttlFit = iota // nothing to compare with
	ttlMatch                    // within the TTLs the sender's own packets used
	ttlOneHop                   // one hop off: a route change or ECMP can do that; weak evidence
	ttlFar                      // two or more hops off from the same initial TTL: built elsewhere
	ttlOtherStack               // from another initial TTL (64, 128, 255): another stack built it
)

// mismatch says the reset's TTL is evidence of a device other than the
// sender; strong says the evidence does not rest on a single hop.
func (t ttlFit) mismatch() bool { return t >= ttlOneHop }
func (t ttlFit) strong() bool   { return t >= ttlFar }

// fitTTL measures the reset's TTL against, in order, the sender's non-reset
// packets on this connection (their range), its first packet after the
// reset (a forged reset often comes before the endpoint said anything), and
// what its address showed on other connections.
//
// The 1-hop band is kept apart because on public captures of real traffic
// (84 resets judged by hand, issue 10) resets 1 hop off their sender came
// from both the endpoint and the path, while every reset 2 or more hops
// off, or from another initial TTL (21 vs 106, 255 vs 61, 78 vs 103), was
// made by a device; the earlier rule read the latter as "no hop count" and
// blamed the endpoint for all 196 of them.
func (f *facts) fitTTL() {
	r := &f.ctx.RST
	var lo, hi uint8
	switch {
	case f.s.Packets > uint64(f.s.Resets):
		lo, hi, f.ttlFrom = f.s.MinTTL, f.s.MaxTTL, "its packets on this connection"
	case laterTTL(f.ctx) != 0:
		lo, hi, f.ttlFrom = laterTTL(f.ctx), laterTTL(f.ctx), "its packets after the reset"
	case f.ctx.SenderHost.Seen:
		lo, hi, f.ttlFrom = f.ctx.SenderHost.MinTTL, f.ctx.SenderHost.MaxTTL, ttlFromOtherConns
	default:
		return
	}
	switch {
	case r.TTL >= lo && r.TTL <= hi:
		f.ttl, f.usualTTL = ttlMatch, int(r.TTL)
		return
	case r.TTL > hi:
		f.usualTTL = int(hi)
	default:
		f.usualTTL = int(lo)
	}
	f.ttlDelta = int(r.TTL) - f.usualTTL
	switch {
	case initialTTL(r.TTL) != initialTTL(uint8(f.usualTTL)):
		f.ttl = ttlOtherStack
	case abs(f.ttlDelta) == 1:
		f.ttl = ttlOneHop
	default:
		f.ttl = ttlFar
	}
}

// ipidStep is how far past the sender's last IP ID its own reset may be:
// Linux counts per socket (one per segment sent), Windows per host (other
// connections advance it between two of ours); 64 covers a reset a few
// segments after the last one captured on a quiet host.
const ipidStep = 64

const ttlFromOtherConns = "its packets on other connections"

// ttlEvidence states the TTL comparison in the finding's words.
func (f *facts) ttlEvidence() {
	r := &f.ctx.RST
	switch f.ttl {
	case ttlOtherStack:
		f.add("reset TTL %d (sent %d hops away, initial %d); %s had %d (initial %d): another network stack built the reset",
			r.TTL, hopsFrom(r.TTL), initialTTL(r.TTL), f.ttlFrom, f.usualTTL, initialTTL(uint8(f.usualTTL)))
	case ttlFar, ttlOneHop:
		near := "nearer the capture point"
		if f.ttlDelta < 0 {
			near = "farther from the capture point"
		}
		f.add("reset TTL %d, %s had %d: sent %d hop(s) %s than %s", r.TTL, f.ttlFrom, f.usualTTL, abs(f.ttlDelta), near, f.role)
	}
}

// hopsFrom is how many hops a packet crossed before the capture point,
// guessed from its TTL and the usual initial values.
func hopsFrom(ttl uint8) int { return initialTTL(ttl) - int(ttl) }

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
