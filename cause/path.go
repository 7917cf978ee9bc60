package cause

import (
	"math"
	"time"

	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// The rules in this file decide whether a device in the path, rather than
// the endpoint whose address the reset carries, made it. Their reference is
// Weaver, Sommer and Paxson, "Detecting Forged TCP Reset Packets" (NDSS
// 2009): out-of-band injectors lose races against the real endpoint, and
// each device has a fingerprint (TTL, IP ID, window, paired resets with a
// sequence step); and RFC 5961 §3.2: an endpoint answers an in-window but
// inexact reset with a challenge ACK, which a real peer's reset (always at
// its next sequence) does not draw.

// matchRepeat: a further reset from a side that has already reset the
// connection answers the peer's segments still in flight; it shares the
// first reset's cause — unless it does not look like the first one's
// sender (a firewall tearing down its state after the endpoint's own
// reset answers every later segment with its own TTL).
func matchRepeat(f *facts) (Sender, float64, bool) {
	e := f.ctx.Earlier
	// Not a repeat when the sender carried on since its earlier reset (that
	// one was forged, or the connection started over).
	if e == nil || !f.s.LastSeg.Flags.Has(packet.RST) {
		return "", 0, false
	}
	if f.ttl.strong() && e.Sender != Middlebox {
		return "", 0, false
	}
	f.add("repeats the reset at frame %d (%s): %s's later segment met a connection already reset", e.Frame, e.Cause, f.peerRole)
	f.cause = e.Cause
	// Measured on the truth harness: 2 869 repeats, 95 % with a cause the
	// kernel's reason for them allows (the misses inherit a wrong first):
	// a repeat is as sure as the verdict it repeats, and no surer than
	// 0.9 (an unknown first reset made its repeats "unknown" at 0.9 in the
	// corpus' suricata-verify/alert-no-3whs-established.pcap).
	conf := 0.9
	if e.Confidence > 0 {
		conf = min(conf, e.Confidence)
	}
	return e.Sender, conf, true
}

// otherCaptures states what other captures of the same traffic saw: a
// capture nearer the purported sender that saw the reset leave proves the
// sender made it; one that covered the time and did not see it proves the
// reset was made in the path between the two capture points (the device
// rules then say which kind of device). It decides nothing itself.
func matchOtherCapture(f *facts) (Sender, float64, bool) {
	p := &f.ctx.Path
	switch {
	case f.madeInPath():
		f.add("the capture nearer %s (%s) saw %s's packets around the reset but not the reset: it was made in the path between the two capture points", f.role, p.NearerSenderFile, f.role)
	case p.NearerSender && p.SeenNearerSender:
		f.add("the capture nearer %s (%s) saw the same reset leave: %s sent it", f.role, p.NearerSenderFile, f.role)
	}
	if p.NearerReceiver && !p.SeenNearerReceiver {
		f.add("the capture nearer %s (%s) never saw the reset arrive: the path dropped it, so %s will retry or hang", f.peerRole, p.NearerReceiverFile, f.peerRole)
	}
	return "", 0, false
}

// madeInPath: a capture nearer the sender covered the reset's time and
// did not see it leave.
func (f *facts) madeInPath() bool { return f.ctx.Path.NearerSender && !f.ctx.Path.SeenNearerSender }

// matchDuplicateIP: the reset carries the sender's address from another MAC.
func matchDuplicateIP(f *facts) (Sender, float64, bool) {
	if !f.macDiff {
		return "", 0, false
	}
	r := &f.ctx.RST
	f.add("reset from MAC %s, %s's packets came from %s: another host answers for %s", mac(r.SrcMAC), f.role, mac(f.s.MAC), f.s.Addr.Addr())
	conf := 0.7
	if f.ttl.mismatch() {
		f.ttlEvidence()
		conf = 0.8
	}
	if f.ctx.SenderHost.MACs > 1 {
		f.add("the address %s was seen from two MACs", f.s.Addr.Addr())
		conf += 0.1
	}
	// Neither endpoint of the connection sent it, and nothing forged it.
	return SenderUnknown, conf, true
}

// talk is what the purported sender did after its reset.
type talk struct {
	newData  int  // segments carrying data past what it had sent, a FIN, or new acknowledgments
	synAck   int  // SYN-ACKs for the very SYN the reset refused
	retrans  int  // retransmissions and window probes: its socket lives on, the reset never reached it
	pairedAt int  // index+1 in After of a second reset from the same side with another sequence, soon after
	bothWays bool // a reset toward the sender, purportedly from its peer, followed at once
}

// pairWindow is how soon a DPI box's second reset follows its first (the
// forged pair of issue 10 was 0.1 ms apart; Weaver et al. report pairs
// within a millisecond); a sender's own repeat answers a later segment.
const pairWindow = 10 * time.Millisecond

func (f *facts) talkAfter() talk {
	var t talk
	r := &f.ctx.RST
	peerSpoke := false
	for i, l := range f.ctx.After {
		if l.Dir != f.ctx.Dir {
			if l.Flags.Has(packet.RST) && !peerSpoke && l.Time.Sub(f.ctx.Time) <= pairWindow {
				t.bothWays = true
			}
			peerSpoke = true
			continue
		}
		switch {
		case l.Flags.Has(packet.RST):
			// A second reset that answers nothing new from the peer: a
			// reset answering the peer's next segment is a repeat.
			if t.pairedAt == 0 && !peerSpoke && l.Seq != r.Seq && l.Time.Sub(f.ctx.Time) <= pairWindow {
				t.pairedAt = i + 1
			}
		case l.Flags.Has(packet.SYN | packet.ACK):
			// The real endpoint's SYN-ACK for the SYN the reset refused.
			if r.Flags.Has(packet.ACK) && l.Ack == r.Ack || f.p.SawSYN && flow.Seq(l.Ack) == f.p.ISN.Add(1) {
				t.synAck++
			}
		case l.Flags.Has(packet.SYN):
		case l.PayloadLen > 0 && !f.s.NextSeq.LessThanEq(flow.Seq(l.Seq)):
			t.retrans++ // data it had sent before: a retransmission
		case l.PayloadLen > 0, l.Flags.Has(packet.FIN) && !f.s.SawFIN:
			t.newData++
		case l.Flags.Has(packet.ACK) && f.s.HasAck && f.s.HighAck.LessThan(flow.Seq(l.Ack)):
			t.newData++ // acknowledges the peer's data that arrived after the reset
		default:
			t.retrans++ // a pure ACK, a window probe: alive, nothing new
		}
	}
	return t
}

// matchPathDevice: the reset departs from its purported sender — another
// network stack built it, it came from hops away from that sender, the
// sender lived on after it, it came in a pair, or it answered a SYN in a
// shape no host stack uses — so a device in the path made it. Which kind
// of device follows from the shape: netfilter's reject (window 0, no
// options, IP ID 0, DF, nf_send_reset's sequence rules) is a firewall; a
// device that races the real endpoint's data or sends pairs injects.
func matchPathDevice(f *facts) (Sender, float64, bool) {
	r := &f.ctx.RST
	if f.ctx.Path.SeenNearerSender {
		return "", 0, false // seen leaving its sender: not a device's
	}
	t := f.talkAfter()
	// A host stack answers a SYN to a closed port with sequence 0
	// (tcp_v4_send_reset, nf_send_reset: no ACK on the SYN, so seq 0).
	oddSYNAnswer := f.answersSYN && r.Seq != 0
	challenged := f.challengeACK()

	var strong, weak []func()
	m := f.model()
	mStrong, mWeak, mMatch := f.fit(&m)
	for _, e := range mStrong {
		strong = append(strong, func() { f.add("%s", e) })
	}
	if f.ttl.strong() && f.ttlFrom != ttlFromOtherConns {
		strong = append(strong, f.ttlEvidence)
	} else if f.ttl.mismatch() {
		// One hop off, or any TTL off against the address's other
		// connections only (those may take other paths: a Teredo relay
		// and a native route in the corpus' tunnels__Teredo.pcap).
		weak = append(weak, f.ttlEvidence)
	}
	if t.newData > 0 || t.synAck > 0 {
		// A segment queued before the reset can be captured after it; only
		// a reset that also fails the sender's identity is called forged.
		if f.ttl.mismatch() || f.ttl == ttlUnknown {
			strong = append(strong, func() {
				f.add("%s kept sending after its own reset (%d new segment(s)): the reset raced the real endpoint", f.role, t.newData+t.synAck)
			})
		}
	} else if t.retrans > 0 && f.ttl.mismatch() {
		strong = append(strong, func() {
			f.add("%s retransmitted after the reset: its socket lived on, so the reset did not come from it (nor reach it)", f.role)
		})
	}
	if t.pairedAt > 0 && f.ttl != ttlMatch {
		l := f.ctx.After[t.pairedAt-1]
		strong = append(strong, func() {
			f.add("a second reset followed %s later with sequence %+d: a forged pair", l.Time.Sub(f.ctx.Time).Round(time.Microsecond), int32(l.Seq-r.Seq))
		})
	}
	if t.bothWays && f.ttl.mismatch() {
		strong = append(strong, func() {
			f.add("a reset toward %s followed at once: both ends were reset together, as injectors do", f.role)
		})
	}
	if oddSYNAnswer {
		strong = append(strong, func() {
			f.add("answers %s's SYN with sequence %d: a host stack answers a SYN it refuses with sequence 0", f.peerRole, r.Seq)
		})
	}
	if f.madeInPath() {
		strong = append(strong, func() {}) // stated by matchOtherCapture
	}
	// A real endpoint's reset is exact (tcp_send_active_reset sends
	// snd_nxt; the no-socket path the answered segment's ACK); one in the
	// window but inexact, after which the purported sender carries on with
	// new data, was neither accepted nor the sender's: the lab's
	// injected-inexact-seq, whose challenge ACK can also acknowledge data
	// that raced it.
	inexactAlive := f.place == seqInWindow && t.newData > 0 && !challenged && r.PayloadLen == 0
	if inexactAlive {
		strong = append(strong, func() {
			f.add("the reset's sequence was in the window but not exact, and %s carried on with new data after it: not %s's reset, and not accepted", f.role, f.role)
		})
	}
	if challenged {
		strong = append(strong, func() {
			f.add("the reset's sequence was in the window but not exact, and %s answered with a challenge ACK (RFC 5961 §3.2): %s's own reset carries its next sequence", f.peerRole, f.role)
		})
	}
	if len(strong) == 0 && len(weak) == 0 {
		return "", 0, false
	}
	if len(strong) == 0 && !(f.ctlShape && (f.answersSYN || f.hasPrior)) {
		return "", 0, false // one hop off alone, not even a reject's shape: no case against the endpoint
	}
	if len(strong) == 0 && f.ipidNext {
		f.add("the reset's IP ID %d continues %s's own sequence (last %d): its own stack built it, whatever the TTL says", r.IPID, f.role, f.s.LastIPID)
		return "", 0, false
	}
	if len(strong) == 0 && len(mMatch) > 0 {
		f.add("%s: its own stack built it, whatever the TTL says", mMatch[0])
		return "", 0, false
	}
	for _, e := range strong {
		e()
	}
	for _, e := range weak {
		e()
	}
	// The model's weak departures (DF, a copied window, an option the
	// sender never used) add to a case; alone they make none: a stack may
	// build its socketless resets unlike its other packets.
	for _, e := range mWeak {
		f.add("%s", e)
	}
	f.hopEvidence(&m)
	if d := m.describe(f); d != "" {
		f.add("%s", d)
	}

	// A reset from farther than the endpoint itself, from the same initial
	// TTL, cannot come from a device between the capture point and the
	// endpoint (that one is nearer): its TTL was chosen — an injector's
	// (the lab's injected-both-ways: TTL 47 where the endpoints' packets
	// arrive with 63; the public capture's forged pair: 21 against 106). An
	// IPv4 reset in netfilter's shape but with an IP ID other than 0 was
	// not built by nf_send_reset either.
	crafted := f.ttl == ttlFar && f.ttlDelta < 0
	if crafted {
		f.add("no device between the capture point and %s can be farther than %s itself: the reset's TTL was set by whoever forged it", f.role, f.role)
	}
	notNetfilter := r.IPVersion == 4 && f.ctlShape && r.IPID != 0 && f.ttl.strong()
	if notNetfilter {
		f.add("IPv4 ID %d: netfilter's reject sends 0", r.IPID)
	}
	// A device that races the endpoint, pairs its resets, resets both ends
	// at once, draws a challenge ACK or crafts its TTL injects; one that
	// answers a segment with a reset is a firewall's reject, whatever the
	// shape (some copy the answered segment's window rather than sending 0).
	injected := t.newData > 0 || t.synAck > 0 || t.pairedAt > 0 || t.bothWays || challenged || inexactAlive || crafted || notNetfilter
	f.cause = FirewallReject
	if injected {
		f.cause = Injected
	} else if !f.ctlShape {
		f.alt(Injected, 0.25)
	}
	if f.ctlShape {
		f.add("window 0 and no TCP options, as netfilter's reject builds it")
	}
	conf := 0.8
	switch {
	case f.madeInPath():
		conf = 0.97 // another capture saw it was not sent where it claims
	case len(strong) >= 2:
		conf = 0.9
	case len(strong) == 0:
		// One hop off and the reject's shape: a router's reject, or the
		// endpoint's own no-socket reset on a path one hop shorter. Within
		// one connection the path is stable (ECMP hashes per flow), so a
		// hop gained mid-flow is the likelier a device (0.75: every such
		// reset in the lab and the truth harness' router was one); against
		// the address's other connections, which may take other paths
		// (public captures: 1-hop differences from both), 0.6.
		conf = 0.6
		if f.ttlFrom != ttlFromOtherConns {
			conf = 0.75
		}
		endpoint := HalfOpen
		if f.answersSYN {
			endpoint = ClosedPort
		}
		f.alt(endpoint, round2(1-conf))
		f.add("one hop is weak evidence (a route change or ECMP can make it); a capture on %s's host would settle it", f.role)
	}
	// A device's reject of the first segment after a long silence is its
	// idle timer at work (conntrack or NAT state expired), not a rule.
	if !injected && f.hasPrior && (f.c.Ep[0].Payload+f.c.Ep[1].Payload > 0 || !f.c.EstablishedTime.IsZero()) {
		if gap := f.prior.Time.Sub(f.lastBefore(f.prior.Time)); gap >= idleGap(f.c) {
			f.add("the connection was idle %s before the segment the reset answers", gap.Round(time.Millisecond))
			// The idle timer's share of the device's verdict: after a minute
			// or more, 0.85. After seconds, 0.7: the truth harness' router
			// (a 2 s conntrack timeout, 200 resets after 3 s) was an idle
			// timer every time, but real idle timers run for minutes and a
			// public capture's reject after 1.5 s was a rule, so the rule
			// stays open. The device's own probability (conf) is split
			// between the two.
			idle := 0.85
			if gap < longIdle {
				idle = 0.7
				f.add("idle timers usually run for minutes; a silence of seconds also fits a reject rule added meanwhile")
			}
			f.cause = IdleTimeout
			f.alt(FirewallReject, round2(conf*(1-idle)))
			conf = round2(conf * idle)
		}
	}
	return Middlebox, conf, true
}

// round2 rounds a probability to two decimals, as findings print it.
func round2(p float64) float64 { return math.Round(p*100) / 100 }

// challengeACK: the reset's sequence was in the receiver's window but not
// exact, and the receiver answered with a bare ACK at once — RFC 5961 §3.2's
// challenge ACK — and the purported sender did not follow with an exact
// reset (what a real endpoint with lost data in flight does when the
// challenge ACK reaches its closed socket).
func (f *facts) challengeACK() bool {
	if f.place != seqInWindow {
		return false
	}
	challenged := false
	for _, l := range f.ctx.After {
		switch {
		case l.Dir == f.ctx.Dir && l.Flags.Has(packet.RST) && challenged:
			return false // the sender's exact follow-up: a real endpoint
		case l.Dir != f.ctx.Dir && l.Flags == packet.ACK && l.PayloadLen == 0 && l.Time.Sub(f.ctx.Time) <= promptly(f.c):
			// A challenge ACK acknowledges nothing new: it repeats the
			// receiver's rcv_nxt (an ACK of data that came before the
			// reset is not one).
			challenged = f.p.HasAck && flow.Seq(l.Ack) == f.p.HighAck
		}
	}
	return challenged
}

// idleGap is the shortest silence after which a device's reject is read as
// its idle timer: at least 2 s (the public capture's rule-made reject came
// after 1.5 s; the lab's and the harness' conntrack timers after 2.5–3 s),
// and far longer than the round trip.
// The lab's conntrack scenario (a 2 s established timeout) needs it short;
// longIdle below says how long real idle timers are.
func idleGap(c *flow.Conn) time.Duration {
	gap := 2 * time.Second
	if rtt, _, ok := c.RTT(); ok && 50*rtt > gap {
		gap = 50 * rtt
	}
	return gap
}

// longIdle is the silence past which an idle timer is the likely cause
// outright: NAT gateways and firewalls drop idle TCP state after 4 to 60
// minutes, conntrack after 5 days by default, so silences of seconds are
// only read as idle timeouts with a reject rule left open (on public
// captures a router's reject after 1.5 s of silence had been called an
// idle timeout).
const longIdle = 60 * time.Second

// promptly is how soon a kernel's immediate answer follows the segment it
// answers, seen from the capture point: a few round trips, at least 10 ms.
func promptly(c *flow.Conn) time.Duration {
	d := 10 * time.Millisecond
	if rtt, _, ok := c.RTT(); ok && 4*rtt > d {
		d = 4 * rtt
	}
	return d
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
