package cause

import (
	"time"

	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// rule decides one cause. Rules run in order and the first that matches
// decides; each adds the evidence that made it match.
type rule struct {
	cause ID
	match func(f *facts) (sender Sender, confidence float64, ok bool)
}

// rules is the ordered list. Forgery comes first (a forged reset says
// nothing about the endpoint's state), then the causes whose wire signature
// is most specific, then the broad ones.
var rules = []rule{
	{"", matchRepeat},
	{Injected, matchInjected},
	{DuplicateIP, matchDuplicateIP},
	{IdleTimeout, matchMiddleboxIdle},
	{FirewallReject, matchFirewallReject},
	{ClosedPort, matchClosedPort},
	{SYNConflict, matchSYNConflict},
	{AcceptQueueOverflow, matchAcceptQueueOverflow},
	{IdleTimeout, matchKeepaliveTimeout},
	{DataAfterClose, matchDataAfterClose},
	{TimeWaitAssassination, matchTimeWait},
	{HalfOpen, matchHalfOpen},
	{UnreadDataClose, matchUnreadDataClose},
	{InvalidSegment, matchInvalidSegment},
	{ApplicationAbort, matchApplicationAbort},
}

// Classify names the cause and the sender of one reset. It is a pure
// function of its context.
func Classify(ctx *Context) Verdict {
	f := gatherFacts(ctx)
	v := Verdict{Cause: Unknown, Sender: f.role, Confidence: 0.2, ClientDir: f.clientDir}
	if r := ctx.KernelReason(); r != "" {
		f.add("kernel reason %s", r)
	}
	if k, ok := fromKernel(f); ok {
		v.Cause, v.Sender, v.Confidence, v.Alternatives = k.cause, k.sender, k.conf, k.alts
		v.Benign = Lookup(v.Cause).Benign
		v.Evidence = f.evidence
		return v
	}
	for _, r := range rules {
		if s, conf, ok := r.match(f); ok {
			v.Cause, v.Sender, v.Confidence = r.cause, s, conf
			if r.cause == "" { // a repeat takes the earlier reset's cause
				v.Cause = ctx.Earlier.Cause
			}
			break
		}
	}
	if v.Cause == Unknown {
		f.add("no rule matched: %s", describe(f))
	}
	v.Benign = Lookup(v.Cause).Benign
	v.Evidence = f.evidence
	return v
}

// kernelConfirms reports whether reason is among the cause's kernel reasons.
func kernelConfirms(id ID, reason string) bool {
	for _, r := range Lookup(id).KernelReasons {
		if r == trimReason(reason) {
			return true
		}
	}
	return false
}

func describe(f *facts) string {
	s := "reset from " + string(f.role)
	if f.s.HasSeq {
		s += ", sequence " + f.place.String()
	} else {
		s += ", first packet from that side"
	}
	return s
}

// matchRepeat: a further reset from a side that has already reset the
// connection answers the peer's segments still in flight; it shares the
// first reset's cause.
func matchRepeat(f *facts) (Sender, float64, bool) {
	e := f.ctx.Earlier
	// Not a repeat when the sender carried on since its earlier reset (that
	// one was forged, or the connection started over).
	if e == nil || !f.s.LastSeg.Flags.Has(packet.RST) {
		return "", 0, false
	}
	f.add("repeats the reset at frame %d (%s): %s's later segment met a connection already reset", e.Frame, e.Cause, f.peerRole)
	return e.Sender, 0.8, true
}

// matchInjected: the purported sender kept talking after its own reset, or
// the reset's identity (TTL) does not match the sender and it raced live data.
func matchInjected(f *facts) (Sender, float64, bool) {
	if !f.keptTalking {
		return "", 0, false
	}
	// Talking means carrying the connection on: data, FIN, an ACK for new
	// data, or a SYN-ACK for the very SYN the reset refused. Repeated
	// resets, or answers to a fresh SYN, are not.
	talk := 0
	for _, l := range f.ctx.After {
		if l.Dir != f.ctx.Dir || l.Flags.Has(packet.RST) {
			continue
		}
		synAck := l.Flags.Has(packet.SYN | packet.ACK)
		if synAck && f.ctx.RST.Flags.Has(packet.ACK) && l.Ack == f.ctx.RST.Ack ||
			!l.Flags.Has(packet.SYN) && (l.PayloadLen > 0 || flow.Seq(l.Ack) != f.p.HighAck || l.Flags.Has(packet.FIN)) {
			talk++
		}
	}
	if talk == 0 {
		return "", 0, false
	}
	f.add("%s kept sending %d segment(s) after its own reset", f.role, talk)
	// Talking on alone can be a race inside the sender (a segment queued
	// before the reset); only a reset that also fails the sender's identity
	// is called forged.
	if !f.ttlKnown || f.ttlDelta == 0 {
		return "", 0, false
	}
	f.add("reset TTL %d, %s's packets had %d (%+d hops)", f.ctx.RST.TTL, f.role, f.usualTTL, f.ttlDelta)
	return Middlebox, 0.95, true
}

// matchDuplicateIP: the reset carries the sender's address from another MAC.
func matchDuplicateIP(f *facts) (Sender, float64, bool) {
	if !f.macDiff {
		return "", 0, false
	}
	r := &f.ctx.RST
	f.add("reset from MAC %s, %s's packets came from %s: another host answers for %s", mac(r.SrcMAC), f.role, mac(f.s.MAC), f.s.Addr.Addr())
	conf := 0.7
	if f.ttlKnown && f.ttlDelta != 0 {
		f.add("reset TTL %d, %s's packets had %d", r.TTL, f.role, f.usualTTL)
		conf = 0.8
	}
	if f.ctx.SenderHost.MACs > 1 {
		f.add("the address %s was seen from two MACs", f.s.Addr.Addr())
		conf += 0.1
	}
	// Neither endpoint of the connection sent it, and nothing forged it.
	return SenderUnknown, conf, true
}

// idleGap is the silence that makes a middlebox's idle timer the likely
// cause: at least a second, and far longer than the round trip.
func idleGap(c *flow.Conn) time.Duration {
	gap := time.Second
	if rtt, _, ok := c.RTT(); ok && 50*rtt > gap {
		gap = 50 * rtt
	}
	return gap
}

// promptly is how soon a kernel's immediate answer follows the segment it
// answers, seen from the capture point: a few round trips, at least 10 ms.
func promptly(c *flow.Conn) time.Duration {
	d := 10 * time.Millisecond
	if rtt, _, ok := c.RTT(); ok && 4*rtt > d {
		d = 4 * rtt
	}
	return d
}

// fromNearer: the reset's TTL says it came from fewer hops away than the
// sender's own packets.
func fromNearer(f *facts) bool { return f.ttlKnown && f.ttlDelta > 0 }

// matchMiddleboxIdle: a middlebox answered the first segment after a long
// silence (its idle timer dropped the flow, then it rejected the resumed one).
func matchMiddleboxIdle(f *facts) (Sender, float64, bool) {
	if !fromNearer(f) || !f.hasPrior {
		return "", 0, false
	}
	gap := f.prior.Time.Sub(f.lastBefore(f.prior.Time))
	if gap < idleGap(f.c) || f.c.EstablishedTime.IsZero() && f.c.Ep[0].Payload+f.c.Ep[1].Payload == 0 {
		return "", 0, false
	}
	f.add("reset TTL %d, %s's packets had %d: sent %d hop(s) nearer than %s", f.ctx.RST.TTL, f.role, f.usualTTL, f.ttlDelta, f.role)
	f.add("the connection was idle %s before the segment the reset answers", gap.Round(time.Millisecond))
	return Middlebox, 0.8, true
}

// lastBefore is the time of the connection's last packet before t.
func (f *facts) lastBefore(t time.Time) time.Time {
	// The connection's state is from before the reset; its previous packet
	// before the prior segment is recorded as the end of the largest gap
	// when that gap ended at the prior segment.
	if f.c.GapEnd.Equal(t) {
		return t.Add(-f.c.MaxGap)
	}
	return t
}

// matchFirewallReject: a reset from nearer than the endpoint, in netfilter's
// shape (nf_send_reset: window 0, no options, DF).
func matchFirewallReject(f *facts) (Sender, float64, bool) {
	r := &f.ctx.RST
	if !fromNearer(f) {
		return "", 0, false
	}
	f.add("reset TTL %d, %s's packets had %d: sent %d hop(s) nearer than %s", r.TTL, f.role, f.usualTTL, f.ttlDelta, f.role)
	conf := 0.75
	if f.ctlShape {
		f.add("window 0 and no TCP options, as netfilter's reject builds it")
		conf = 0.85
	}
	return Middlebox, conf, true
}

// matchClosedPort: a SYN answered by RST+ACK with ack = SYN+1 and no SYN-ACK.
func matchClosedPort(f *facts) (Sender, float64, bool) {
	if !f.answersSYN {
		return "", 0, false
	}
	f.add("answers %s's SYN (ack %d = ISN+1) with no SYN-ACK", f.peerRole, f.ctx.RST.Ack)
	f.add("a reject rule on the server host itself sends the very same reset")
	if f.s.Resets > 0 {
		f.add("repeated for a retried SYN")
	}
	return f.role, 0.9, true
}

// matchSYNConflict: the sender's new SYN on a live 4-tuple drew an ACK for
// the old connection (a challenge ACK, RFC 5961 §4), which it resets.
func matchSYNConflict(f *facts) (Sender, float64, bool) {
	if !f.c.SYNOnLive[f.ctx.Dir] || !f.hasPrior || f.prior.Flags.Has(packet.SYN) {
		return "", 0, false
	}
	if f.prior.Ack == f.s.ISN.Add(1) {
		return "", 0, false // a real SYN-ACK: not a conflict
	}
	f.add("%s sent a new SYN (ISN %d) on a 4-tuple %s still held", f.role, f.s.ISN, f.peerRole)
	f.add("%s answered with an ACK for the old connection (ack %d), which %s reset", f.peerRole, f.prior.Ack, f.role)
	return f.role, 0.85, true
}

// matchAcceptQueueOverflow: the server resets right after the handshake
// completed, before sending any data, in the no-socket shape: the listener
// dropped the child because its accept queue was full (tcp_check_req with
// tcp_abort_on_overflow=1).
func matchAcceptQueueOverflow(f *facts) (Sender, float64, bool) {
	if f.role != Server || f.s.Payload > 0 || f.s.SawFIN || !f.s.SawSYN || !f.p.SawSYN || !f.ctlShape {
		return "", 0, false
	}
	if !f.p.HasAck || f.p.HighAck != f.s.ISN.Add(1) || !f.hasPrior {
		return "", 0, false
	}
	// The listener answers the handshake's final ACK, or the first data
	// riding with it, at once (tcp_check_req): the peer has sent nothing else.
	if f.p.Payload != uint64(f.prior.PayloadLen) || f.ctx.Time.Sub(f.prior.Time) > promptly(f.c) {
		return "", 0, false
	}
	f.add("the server reset the connection after completing the handshake, before sending any data")
	f.add("window 0 and no options: sent by the listener, not by an accepted socket")
	return Server, 0.7, true
}

// matchKeepaliveTimeout: the sender's keepalive probes failed (RFC 9293
// §3.8.4; tcp_keepalive_timer gives up after tcp_keepalive_probes). Either the
// peer never answered, or — seen from the peer's side, whose answers were
// lost on the way — the reset came one probe interval after the last probe,
// as the kernel's keepalive timer sends it.
func matchKeepaliveTimeout(f *facts) (Sender, float64, bool) {
	s := f.s
	if s.KeepaliveRun == 0 {
		return "", 0, false
	}
	if !f.p.Last.After(s.KeepaliveFrom) {
		f.add("%s sent %d keepalive probe(s) with no answer, then reset", f.role, s.KeepaliveRun)
		return f.role, 0.85, true
	}
	since := f.ctx.Time.Sub(s.KeepaliveLast)
	if s.KeepaliveRun >= 2 && s.KeepaliveGap > 0 && absDur(since-s.KeepaliveGap) <= s.KeepaliveGap/5 {
		f.add("%s sent %d keepalive probes %s apart, then reset one interval after the last", f.role, s.KeepaliveRun, s.KeepaliveGap.Round(time.Millisecond))
		f.add("%s answered the probes here, so its answers were lost before reaching %s", f.peerRole, f.role)
		return f.role, 0.75, true
	}
	return "", 0, false
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// matchDataAfterClose: the sender had closed (FIN) and the peer kept sending data.
func matchDataAfterClose(f *facts) (Sender, float64, bool) {
	if !f.s.SawFIN || f.p.DataAfterFIN == 0 && !(f.hasPrior && f.prior.PayloadLen > 0 && f.prior.Time.After(f.s.FINTime)) {
		return "", 0, false
	}
	f.add("%s had sent FIN, then %s sent data", f.role, f.peerRole)
	return f.role, 0.8, true
}

// matchTimeWait: both sides had closed with FIN; the reset hit or came from
// the TIME-WAIT side (RFC 1337).
func matchTimeWait(f *facts) (Sender, float64, bool) {
	if !f.s.SawFIN || !f.p.SawFIN {
		return "", 0, false
	}
	f.add("both sides had closed with FIN before the reset")
	return f.role, 0.6, true
}

// matchHalfOpen: a mid-connection segment answered in the no-socket shape:
// the sender no longer holds the connection it used before.
func matchHalfOpen(f *facts) (Sender, float64, bool) {
	if !f.ctlShape || !f.s.HasSeq || !f.hasPrior || f.s.Packets <= uint64(f.s.Resets) {
		return "", 0, false
	}
	if f.s.SYNOpt.Len == 0 && f.s.LastOptLen == 0 && f.s.Window == 0 {
		return "", 0, false // never showed options or a window: the shape says nothing
	}
	f.add("the reset has window 0 and no options, unlike %s's earlier segments: the socket is gone, or a reject rule on that host answered", f.role)
	if f.place != seqUnknown {
		f.add("reset sequence %s", f.place)
	}
	return f.role, 0.7, true
}

// matchUnreadDataClose: the sender reset instead of FIN after the peer's
// data, which it never answered: either it never sent data at all, or the
// reset is the first acknowledgment of the peer's latest data (the
// application closed before the kernel's delayed ACK went out).
func matchUnreadDataClose(f *facts) (Sender, float64, bool) {
	if f.s.SawFIN || f.p.Payload == 0 || !f.p.LastData.After(f.s.LastData) {
		return "", 0, false
	}
	firstAck := !f.s.HasAck || f.s.HighAck.LessThan(f.p.NextSeq)
	if f.s.Payload > 0 && !firstAck {
		return "", 0, false
	}
	f.add("%s reset instead of closing with FIN after %s's data, which it never answered", f.role, f.peerRole)
	if firstAck {
		f.add("the reset is the first acknowledgment of that data")
	}
	return f.role, 0.6, true
}

// matchInvalidSegment: the reset answers a segment with an impossible ACK.
func matchInvalidSegment(f *facts) (Sender, float64, bool) {
	if !f.hasPrior || !f.prior.Flags.Has(packet.ACK) || !f.s.HasSeq {
		return "", 0, false
	}
	ack := f.prior.Ack
	if !f.s.NextSeq.LessThan(ack) {
		return "", 0, false
	}
	f.add("%s's segment acknowledged %d, beyond anything %s had sent (%d)", f.peerRole, ack, f.role, f.s.NextSeq)
	return f.role, 0.6, true
}

// matchApplicationAbort: an established connection reset by an endpoint
// with its own live socket (exact sequence, window and options present).
func matchApplicationAbort(f *facts) (Sender, float64, bool) {
	if !f.s.HasSeq || f.place == seqOutside {
		return "", 0, false
	}
	f.add("%s reset an open connection with its next sequence number (%s)", f.role, f.place)
	if !f.ctlShape {
		f.add("the reset carries the socket's window or options: sent by a live socket")
	}
	return f.role, 0.6, true
}
