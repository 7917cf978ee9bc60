package cause

import (
	"fmt"
	"strings"
	"time"
)

// The per-host model: what a reset's purported sender's packets look like
// from this capture point, over this connection and the address's other
// connections (Context.SenderHost, kept by diagnose/hosts.go), and whether
// the reset looks the same. Each habit is a property of the network stack
// that built the packet, which a device forging the address does not share:
//
//   - IPv4 ID. Linux numbers a connected socket's datagrams with a counter
//     of the socket's own from a random start (ip_select_ident_segs,
//     inet_id), and sends what it sends without a socket (tcp_v4_send_reset,
//     the SYN-ACK from a listener) with ID 0 and DF; Windows and older BSDs
//     number every datagram from one counter; OpenBSD and macOS draw IDs at
//     random; FreeBSD's RFC 6864 mode and netfilter's reject (nf_send_reset)
//     send 0.
//   - DF: Linux, Windows and the BSDs set it on every TCP datagram.
//   - The TCP timestamp clock (RFC 7323): a stack's resets from a live
//     socket carry its clock, which never runs backwards.
//   - The window: an injector copying the receiver's window (issue 10's
//     TTL-255 teardown echoed the client's window).
//   - The initial TTL and SYN options give the OS family.

// modelMin is how many IPv4 packets of the sender the model needs before
// an IP ID or DF habit is called one: 8 packets with ID 0 from a stack
// that draws IDs at random happen once in 2^128; 8 with DF from one that
// sets it at random once in 256.
const modelMin = 8

type ipidHabit uint8

const (
	ipidUnknown ipidHabit = iota
	ipidCounter           // consecutive IDs of a connection go up by a little
	ipidZero              // every datagram carries 0
	ipidRandom            // consecutive IDs land anywhere
)

func (h ipidHabit) String() string {
	return [...]string{"IP IDs of no clear habit", "IP IDs from a counter", "IP ID 0", "random IP IDs"}[h]
}

type ipidScope uint8

const (
	scopeUnknown ipidScope = iota
	scopeConn              // each connection its own counter from a random start (Linux)
	scopeHost              // one counter for all the address's connections (Windows, older BSDs)
)

// model is the purported sender's habits, this connection's packets and
// its other connections' together.
type model struct {
	v4, zeroID, df int // IPv4 packets, with ID 0, with DF
	steps, up      int
	habit          ipidHabit
	scope          ipidScope
	lastID         uint16 // the latest ID of a host-wide counter
	initial        int    // initial TTL of its packets, 0 if unknown
	hops           int    // how far its packets come from
	family         string
}

func (f *facts) model() model {
	h, s := &f.ctx.SenderHost, f.s
	n := int(s.Packets - uint64(s.Resets))
	m := model{}
	if s.Addr.Addr().Is4() || f.ctx.RST.IPVersion == 4 {
		m.v4, m.zeroID, m.df = h.V4Packets+n, h.ZeroIDs+int(s.IPIDZero), h.DFPackets+int(s.DFCount)
		m.steps, m.up = h.IDSteps+int(s.IPIDSteps), h.IDUp+int(s.IPIDUp)
	}
	switch {
	case m.v4 >= modelMin && m.zeroID*10 >= m.v4*9:
		m.habit = ipidZero
	case m.steps >= modelMin && m.up*10 >= m.steps*9:
		m.habit = ipidCounter
	case m.steps >= modelMin && m.up*4 < m.steps:
		m.habit = ipidRandom
	}
	// Four connections that start at random miss a host-wide counter's
	// window (flow.IPIDUpMax) with probability 0.94^4; three in a row that
	// start just after the previous one are a shared counter.
	switch {
	case h.StartsNear >= 3 && h.StartsFar*4 <= h.StartsNear:
		m.scope, m.lastID = scopeHost, h.LastIPID
	case h.StartsFar >= 2 && h.StartsNear*4 <= h.StartsFar,
		h.ZeroSYNACKs >= 2 && m.habit == ipidCounter && h.StartsNear == 0:
		// Random starts, or Linux's listener shape: SYN-ACKs with ID 0,
		// then a counter.
		m.scope = scopeConn
	}
	usual := 0
	switch {
	case n > 0:
		usual = int(s.MaxTTL)
	case h.Seen:
		usual = int(h.MaxTTL)
	}
	if usual > 0 {
		m.initial = initialTTL(uint8(usual))
		m.hops = m.initial - usual
	}
	m.family = f.osFamily(&m)
	return m
}

// osFamily guesses the sender's operating system from its initial TTL, IP
// ID habit and SYN options (p0f's signals): Linux sends MSS, SACK-permitted,
// timestamps, NOP, window scale (20 bytes); Windows no timestamps by
// default; network gear starts at 255.
func (f *facts) osFamily(m *model) string {
	syn, hasSYN := f.s.SYNOpt, f.s.SawSYN
	if !hasSYN && f.ctx.SenderHost.HasSYN && !f.ctx.SenderHost.SYNMixed {
		syn, hasSYN = f.ctx.SenderHost.SYN, true
	}
	switch m.initial {
	case 255:
		return "like network gear (initial TTL 255)"
	case 128:
		return "like Windows (initial TTL 128)"
	case 64:
		switch {
		case m.scope == scopeHost:
			return "like a BSD (initial TTL 64, one IP ID counter)"
		case m.habit == ipidRandom:
			return "like OpenBSD or macOS (initial TTL 64, random IP IDs)"
		case m.scope == scopeConn, m.habit == ipidCounter && hasSYN && syn.HasTS && syn.Len == 20:
			return "like Linux (initial TTL 64, an IP ID counter per connection)"
		}
		return ""
	}
	return ""
}

// describe says what the model knows of the sender beyond its distance
// (hopEvidence says that), or "" when it knows nothing more.
func (m *model) describe(f *facts) string {
	var parts []string
	if m.family != "" {
		parts = append(parts, "looks "+m.family)
	}
	if m.habit != ipidUnknown {
		h := fmt.Sprintf("sent %d IPv4 packet(s) with %s", m.v4, m.habit)
		switch m.scope {
		case scopeConn:
			h += " (one per connection)"
		case scopeHost:
			h += " (one for all its connections)"
		}
		parts = append(parts, h)
	}
	if ttls := f.ctx.SenderHost.TTLs; ttls[1] != 0 {
		// More than one TTL from one address: several paths, or several
		// hosts behind it (NAT, a load balancer), which the TTL test allows for.
		var l []string
		for _, t := range ttls {
			if t != 0 {
				l = append(l, fmt.Sprint(t))
			}
		}
		parts = append(parts, "arrived with TTLs "+strings.Join(l, ", ")+" on its connections")
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("seen from here, %s %s", f.role, strings.Join(parts, " and "))
}

// numbersAll says the sender's stack gives every datagram a non-zero ID
// (one counter, or at random), so it would number its own reset too.
// Linux is left out: it sends its socketless resets with ID 0, as
// netfilter does. Windows is recognised by its initial TTL with SYNs that
// carry no timestamps (Linux with its TTL set to 128 sends them).
func (m *model) numbersAll(f *facts) bool {
	if m.scope == scopeHost || m.habit == ipidRandom {
		return true
	}
	syn, has := f.s.SYNOpt, f.s.SawSYN
	if !has && f.ctx.SenderHost.HasSYN && !f.ctx.SenderHost.SYNMixed {
		syn, has = f.ctx.SenderHost.SYN, true
	}
	// Windows 10 and later number per destination (a hashed bucket of
	// counters): one new connection starting on the last one's counter is
	// the sign that the capture point sees one of them; without it, a
	// Linux host with its TTL at 128 and timestamps off would look alike.
	h := &f.ctx.SenderHost
	return m.initial == 128 && m.habit == ipidCounter && has && !syn.HasTS && m.scope != scopeConn &&
		h.StartsNear >= 1 && h.StartsNear >= h.StartsFar
}

// fit holds the reset against the model: departures are evidence of
// another stack (strong ones alone make a case, weak ones add to one),
// matches are evidence that the sender's own stack built it.
func (f *facts) fit(m *model) (strong, weak, match []string) {
	r, s := &f.ctx.RST, f.s
	if r.IPVersion == 4 {
		last := s.LastIPID
		// onCounter: the ID is on the host-wide counter, by this
		// connection's latest ID or the address's.
		onCounter := last != 0 && near(r.IPID, last, startsNear) || m.lastID != 0 && near(r.IPID, m.lastID, startsNear)
		switch {
		case r.IPID == 0 && m.habit != ipidZero && m.v4 >= modelMin && m.zeroID == 0 && m.numbersAll(f):
			strong = append(strong, fmt.Sprintf("IP ID 0, but none of %s's %d IPv4 packets carried 0 (its stack numbers every datagram: %s): netfilter's reject sends 0", f.role, m.v4, m.habit))
		case r.IPID == 0:
		case m.habit == ipidZero:
			weak = append(weak, fmt.Sprintf("IP ID %d, but %s sent %d of its %d IPv4 packets with ID 0", r.IPID, f.role, m.zeroID, m.v4))
		case m.habit == ipidCounter && m.scope == scopeConn && last != 0 && s.IPIDSteps >= 1 && !near(r.IPID, last, ipidStep):
			strong = append(strong, fmt.Sprintf("IP ID %d: %s numbers each connection's datagrams with a counter of its own, and its reset would continue this connection's (last %d) or carry 0 when sent without a socket", r.IPID, f.role, last))
		case m.habit == ipidCounter && m.scope == scopeHost && last != 0 && !onCounter && f.behindCounter():
			strong = append(strong, fmt.Sprintf("IP ID %d is behind %s's counter, which all its connections share (%d %s before the reset): a counter does not run backwards", r.IPID, f.role, last, f.ctx.Time.Sub(s.Last).Round(time.Microsecond)))
		case m.habit == ipidCounter && m.scope == scopeHost && (last != 0 || m.lastID != 0) && !onCounter:
			// Far ahead: a busy host's counter may have got there meanwhile.
			weak = append(weak, fmt.Sprintf("IP ID %d is far from %s's counter, which all its connections share (latest %d)", r.IPID, f.role, max(last, m.lastID)))
		case m.scope == scopeHost && onCounter:
			match = append(match, fmt.Sprintf("the reset's IP ID %d continues the counter all %s's connections share (latest %d)", r.IPID, f.role, max(last, m.lastID)))
		}
		switch {
		case m.v4 >= modelMin && m.df == m.v4 && !r.DF:
			weak = append(weak, fmt.Sprintf("no DF, but all %d of %s's IPv4 packets had it", m.v4, f.role))
		case m.v4 >= modelMin && m.df == 0 && r.DF:
			weak = append(weak, fmt.Sprintf("DF set, but none of %s's %d IPv4 packets had it", f.role, m.v4))
		}
	}
	// Older Linux kernels stamp a live socket's reset with TSval 0 (the
	// corpus' output-eve-anomaly-02: OpenSSH's server, IP ID on its
	// counter): 0 is no clock at all.
	if r.Opt.HasTS && r.Opt.TSVal != 0 {
		switch {
		case s.HasTS && int32(r.Opt.TSVal-s.LastTSVal) < -tsBehind:
			strong = append(strong, fmt.Sprintf("TCP timestamp %d is behind %s's clock (last %d): another clock stamped the reset", r.Opt.TSVal, f.role, s.LastTSVal))
		case s.HasTS && int32(r.Opt.TSVal-s.LastTSVal) >= 0:
			match = append(match, fmt.Sprintf("the reset's TCP timestamp %d continues %s's clock (last %d)", r.Opt.TSVal, f.role, s.LastTSVal))
		case s.SawSYN && !s.SYNOpt.HasTS:
			weak = append(weak, fmt.Sprintf("carries a TCP timestamp, which %s's SYN did not offer", f.role))
		case !s.SawSYN && !s.HasTS && f.ctx.SenderHost.NoTSConns >= 3 && f.ctx.SenderHost.TSConns == 0:
			weak = append(weak, fmt.Sprintf("carries a TCP timestamp, which %s sent on none of its %d other connections", f.role, f.ctx.SenderHost.NoTSConns))
		}
	}
	if r.Window != 0 && s.HasSeq && f.p.Packets > 0 && r.Window == f.p.Window && r.Window != s.Window {
		weak = append(weak, fmt.Sprintf("window %d is %s's own last window, not %s's (%d): copied from the segment it answers", r.Window, f.peerRole, f.role, s.Window))
	}
	return strong, weak, match
}

// behindCounter says the reset's IP ID is behind the value the sender's
// host-wide counter had at its last packet on this connection, by more
// than capture disorder explains, and soon enough after it that the
// counter cannot have wrapped round to it (a counter moving 32 k IDs a
// second, a busy host's, needs a second for half its range).
func (f *facts) behindCounter() bool {
	d := int16(f.ctx.RST.IPID - f.s.LastIPID)
	return d < -256 && f.ctx.Time.Sub(f.s.Last) < time.Second
}

// tsBehind is how far behind the sender's last TCP timestamp a reset's may
// be and still be its clock: a packet made after the reset can be captured
// before it (the capture's own disorder, tens of µs on this machine), which
// at Linux's 1 ms tick is at most one tick and at its 1 µs one (tcp_usec_ts)
// under a thousand.
const tsBehind = 1000

// startsNear is how far past a host-wide counter's latest ID a reset may be
// and still be on it (the address's other traffic moves it on meanwhile);
// slightly behind is the capture's own disorder.
const startsNear = 4096

// near says id is on a counter whose latest value was last: up to ahead
// past it, or up to 256 behind (packets captured out of order).
func near(id, last uint16, ahead uint16) bool {
	return id-last <= ahead || last-id <= 256
}

// hopEvidence says how far from the capture point the reset was made, when
// its TTL fits an initial value closely enough to tell, and how far its
// purported sender's packets come from.
func (f *facts) hopEvidence(m *model) {
	r := &f.ctx.RST
	init := initialTTL(r.TTL)
	hops := init - int(r.TTL)
	if init < 64 || hops > 40 {
		return // 32 is rare today, and 40 hops is past any real path: the TTL was set, not counted down
	}
	s := fmt.Sprintf("the reset was made %d hop(s) from the capture point (TTL %d of %d)", hops, r.TTL, init)
	if m.initial > 0 {
		s += fmt.Sprintf(", %s's packets come from %d hop(s)", f.role, m.hops)
	}
	f.add("%s", s)
}
