package cause

import (
	"time"

	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// Context is everything the classifier may look at for one reset. Building it
// is the analyzer's job; classifying it is a pure function with no I/O.
type Context struct {
	// Conn is the connection as it stood just before the reset.
	Conn flow.Conn
	// Dir is the direction the reset travelled: Conn.Ep[Dir] is its
	// purported sender.
	Dir flow.Dir
	// RST is the reset packet. Its Payload aliases nothing: the analyzer
	// copies at most a few bytes (a BIG-IP reset-cause text, say).
	RST  packet.Packet
	Time time.Time
	// After holds the connection's packets after the reset, in order, up to
	// the look-ahead bound.
	After []Later
	// LookAheadDone says the look-ahead ran its full course (rather than
	// being cut by the end of the input).
	LookAheadDone bool
	// Earlier is the verdict on the previous reset from the same side of
	// the connection, when there was one.
	Earlier *Earlier
	// SenderHost is what the reset's source address showed on other flows.
	SenderHost Host
	// KernelReason is the kernel's sk_rst_reason name when a live host told us.
	KernelReason string
}

// Later is a packet of the connection seen after (or just before) the reset.
type Later struct {
	Dir        flow.Dir
	Time       time.Time
	Flags      packet.Flags
	Seq, Ack   uint32
	PayloadLen int
	TTL        uint8
	IPID       uint16
	Window     uint16
	OptLen     uint8
	HasMAC     bool
	MAC        [6]byte
}

// LaterOf copies the facts of p that the rules use.
func LaterOf(p *packet.Packet, d flow.Dir, ts time.Time) Later {
	return Later{Dir: d, Time: ts, Flags: p.Flags, Seq: p.Seq, Ack: p.Ack, PayloadLen: p.PayloadLen,
		TTL: p.TTL, IPID: p.IPID, Window: p.Window, OptLen: p.Opt.Len, HasMAC: p.HasMAC, MAC: p.SrcMAC}
}

// Host is what one address showed across all its flows in the input.
type Host struct {
	Seen           bool
	MinTTL, MaxTTL uint8
	// MACs counts distinct source MACs seen for the address (capped at 2).
	MACs int
}

// Verdict is the classifier's answer for one reset.
type Verdict struct {
	Cause      ID
	Sender     Sender
	Confidence float64
	Evidence   []string
	Benign     bool
}

// Earlier is the verdict on an earlier reset of the same connection.
type Earlier struct {
	Frame  uint64
	Cause  ID
	Sender Sender
}
