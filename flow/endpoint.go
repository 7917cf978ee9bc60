package flow

import (
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/packet"
)

// Dir says which side of a connection sent a packet.
type Dir uint8

const (
	// FromOrig is a packet from the originator (Zeek's orig: the SYN sender
	// when the handshake was seen).
	FromOrig Dir = iota
	// FromResp is a packet from the responder.
	FromResp
)

// Other returns the opposite direction.
func (d Dir) Other() Dir { return d ^ 1 }

func (d Dir) String() string {
	if d == FromOrig {
		return "orig"
	}
	return "resp"
}

// Endpoint is what one side of a connection has shown on the wire.
//
// The fields every packet reads or writes come first, in the first 232
// bytes (four cache lines; Conn keeps both endpoints line-aligned), the
// rest after them: in the order the fields
// were declared before, a packet touched about six of the struct's
// lines (LastSeg, Last and LastFrame sat 260–400 bytes in), and storing
// LastSeg was the costliest line of observe in the profile of the
// harness capture (bench/README.md, "Third round"). The order changes
// nothing else.
type Endpoint struct {
	Addr netip.AddrPort

	// State is the Zeek endpoint state, from which conn_state derives.
	State EndpointState

	SawSYN bool
	HasSeq bool
	HasAck bool
	SawFIN bool
	SawRST bool
	// LastOptLen is the option length of the last non-RST segment.
	LastOptLen uint8
	HasTS      bool
	ISN        Seq // sequence number of this side's SYN
	NextSeq    Seq // the highest sequence number this side has sent past (snd.nxt)
	HighAck    Seq // the highest acknowledgment this side has sent
	FINSeq     Seq
	Window     uint16 // the last advertised window, unscaled

	// Identity of the sender as seen on the wire, for attribution.
	FirstTTL, LastTTL, MinTTL, MaxTTL uint8
	LastIPID                          uint16
	// IPIDSteps counts pairs of consecutive IPv4 packets (resets aside)
	// that both carry a non-zero ID, IPIDUp those whose ID went up by 1 to
	// IPIDUpMax: a counter (Linux per socket, Windows per host) moves every
	// step by a little, a random ID almost never. Both stop at 255, which
	// keeps them in padding the struct had anyway.
	IPIDSteps, IPIDUp uint8
	HasMAC            bool
	MAC               [6]byte
	// ErrorReply says the last reply this side began was an error: an
	// HTTP/1.x status of 4xx or 5xx, or a RESP (redis) error (errorReply).
	ErrorReply bool
	LastTSVal  uint32
	IPIDZero   uint32 // packets with IPv4 ID 0
	DFCount    uint32

	Packets   uint64
	IPBytes   uint64
	Payload   uint64 // payload bytes carried, retransmissions included
	LastFrame uint64
	Resets    uint32 // resets among Packets
	// RetxRun counts this side's retransmissions (data or FIN) since the
	// peer last acknowledged anything new; RetxFirst is when the run began.
	RetxRun uint32

	// LastSeg is the latest segment from this side, resets included.
	LastSeg Segment

	Last     time.Time
	LastData time.Time

	// Below: fields a packet touches only now and then.

	SYNOpt     packet.Options
	SYNFlags   packet.Flags
	MACChanges uint32
	Retrans    uint32
	ZeroWindow uint32
	RetxFirst  time.Time
	// Keepalives counts probes: empty or one-byte segments at NextSeq-1.
	// KeepaliveRun counts the probes of the latest run (one restarts when
	// either side sent data between two probes), the first of them at
	// KeepaliveFrom and the latest at KeepaliveLast; KeepaliveGap is the
	// interval between the last two. Data sent after the run ends it
	// without a probe to notice: ProbeRun says whether it still stands.
	Keepalives    uint32
	KeepaliveRun  uint32
	KeepaliveFrom time.Time
	KeepaliveLast time.Time
	KeepaliveGap  time.Duration

	First        time.Time
	FINTime      time.Time
	RSTTime      time.Time
	DataAfterFIN uint64 // payload bytes this side sent after the peer's FIN

	// Framing and FlightMsgs are how this side's latest flight of data
	// (the bytes new to its stream since the peer last sent some) divides
	// into messages, and how many it held (countMessages; 255 at most): a
	// client's pipelined requests, a server's answers to them. FlightWhole
	// says every byte of a framed flight was read for them (no snap length
	// cut it, none was missing, no more than maxFlightScan). flightCarry
	// is how much of a message's marker the last segment ended with,
	// flightScanned the flight's bytes read, inFlight whether this side's
	// next new bytes continue its flight (the peer has sent none since).
	// They fill what was padding: the struct stays 448 bytes, seven cache
	// lines.
	Framing       Framing
	FlightMsgs    uint8
	FlightWhole   bool
	flightCarry   uint8
	flightScanned uint16
	inFlight      bool
}

// IPIDUpMax is the largest step between two IPv4 IDs of one sender read
// as its counter moving on: a random ID lands within it 1.6 % of the time,
// while a Windows host-wide counter on a host that also talks to others
// moves by more than one between two packets of one connection.
const IPIDUpMax = 1024

// observe records the identity and counters of a packet from this side.
// A reset's TTL, IP ID and MAC are kept out of the identity: a forged reset
// must not become the yardstick the next one is measured with.
func (e *Endpoint) observe(p *packet.Packet, ts time.Time, frame uint64, ipBytes int) {
	if e.Packets == 0 {
		e.First = ts
	}
	e.Packets++
	e.IPBytes += uint64(ipBytes)
	if ts.After(e.Last) {
		e.Last = ts
	}
	e.LastFrame = frame
	e.LastSeg = Segment{Time: ts, Frame: frame, Flags: p.Flags, Seq: Seq(p.Seq), Ack: Seq(p.Ack), PayloadLen: p.PayloadLen}
	if p.Flags.Has(packet.RST) {
		e.Resets++
		return
	}
	if e.Packets == uint64(e.Resets)+1 {
		e.FirstTTL, e.MinTTL, e.MaxTTL = p.TTL, p.TTL, p.TTL
	}
	e.LastTTL = p.TTL
	e.MinTTL = min(e.MinTTL, p.TTL)
	e.MaxTTL = max(e.MaxTTL, p.TTL)
	if p.IPVersion == 4 {
		if p.IPID != 0 && e.LastIPID != 0 && e.IPIDSteps < 255 {
			e.IPIDSteps++
			if d := p.IPID - e.LastIPID; d >= 1 && d <= IPIDUpMax {
				e.IPIDUp++
			}
		}
		e.LastIPID = p.IPID
		if p.IPID == 0 {
			e.IPIDZero++
		}
		if p.DF {
			e.DFCount++
		}
	}
	if p.HasMAC {
		if e.HasMAC && e.MAC != p.SrcMAC {
			e.MACChanges++
		}
		e.HasMAC, e.MAC = true, p.SrcMAC
	}
}

// Segment is the gist of one TCP segment.
type Segment struct {
	Time       time.Time
	Frame      uint64
	Flags      packet.Flags
	Seq, Ack   Seq
	PayloadLen int
}
