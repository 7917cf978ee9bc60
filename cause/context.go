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
	// Burst counts the resets from the reset's source address and port in
	// the burstWindow before it, this one included (a listener closing
	// resets its whole accept queue within a millisecond).
	Burst int
	// BurstOutOfOrder says the burst's resets did not follow the order in
	// which their connections completed the handshake. A listener's close
	// resets its accept queue in that order (inet_csk_listen_stop walks the
	// queue from its head); an application closing connections one by one
	// (threads, timers) need not.
	BurstOutOfOrder bool
	// PortServed says the reset's source address:port was seen as a
	// connection's responder (answering a handshake or sending data; the
	// analyzer's table of them starts over when full, so false also means
	// forgotten); PortLastData is when it last sent data on any connection
	// before the reset, zero when it had sent none since it was first seen.
	PortServed   bool
	PortLastData time.Time
	// Kernel is what the host's kernel said about this reset, when a live
	// host (watch) told us; its zero value means no kernel evidence.
	Kernel Kernel
	// Path is what other captures of the same traffic saw of this reset;
	// its zero value means this is the only capture.
	Path Path
	// EphemeralPorts is the local port range of the host the connection
	// belongs to (net.ipv4.ip_local_port_range) when known (watch); the
	// client/server guess uses it before falling back to port heuristics.
	EphemeralPorts [2]uint16
}

// Path is what several captures of one connection, taken at different
// points, say about one reset. "Nearer the sender" means a capture point
// between the purported sender and this capture point (its packets arrive
// there with a higher TTL, or it is the capture on the sender's host).
type Path struct {
	// Captures is how many captures hold this connection, this one included.
	Captures int
	// NearerSender: a capture nearer the purported sender holds the
	// connection and covers the time of the reset (it saw the sender's
	// packets before and after it, so a reset leaving would have been seen).
	NearerSender bool
	// SeenNearerSender: that capture saw this very reset (same sequence,
	// flags, within the estimated clock offset).
	SeenNearerSender bool
	// NearerReceiver / SeenNearerReceiver: the same for a capture between
	// this point and the reset's receiver (did the reset arrive there?).
	NearerReceiver, SeenNearerReceiver bool
	// Where names the captures for the evidence ("server.pcap", …).
	NearerSenderFile, NearerReceiverFile string
}

// KernelPath says which code on the host put a reset on the wire.
type KernelPath uint8

const (
	KernelNone      KernelPath = iota // no kernel evidence
	KernelStack                       // the TCP stack sent it (tcp:tcp_send_reset), with a reason
	KernelNetfilter                   // netfilter's reject built it (nf_send_reset; at net_dev_queue, an unclaimed RST with no owning socket)
	KernelNotStack                    // a socket other than TCP's (raw, AF_PACKET) wrote it on this host
	KernelReceived                    // a socket on this host received it (tcp:tcp_receive_reset)
)

// Kernel is the kernel's own account of one reset on a live host.
type Kernel struct {
	Path KernelPath
	// Reason is the sk_rst_reason name ("NO_SOCKET", with or without the
	// SK_RST_REASON_ prefix); empty when Path is not KernelStack.
	Reason string
	// State and Substate are the socket's state names as ss prints them
	// without the prefix ("LISTEN", "TIME_WAIT", "FIN_WAIT2"); empty when
	// there was no socket.
	State, Substate string
	// InFlags are the flags of the segment the reset answered; 0 when the
	// reset answered no segment (an abort) or it is not known.
	InFlags packet.Flags
	// SentHere is the reason of this host's own tcp_send_reset for the same
	// reset, for a KernelReceived event on a host that also sent it
	// (loopback, two namespaces); empty otherwise.
	SentHere string
	// FromLocal is false when the reset's source address is not one of this
	// host's (a router's own reject: the host forged an endpoint's address).
	FromLocal bool
	// Forwards is true when the host (network namespace) that sent the
	// reset routes packets between its interfaces (ip_forward): a router, a
	// NAT, a container host.
	Forwards bool
	// ClosedClean says this host's own socket on the connection ended
	// cleanly, as the second side to close (LAST_ACK to CLOSE with its FIN
	// acknowledged), ClosedAgo before a NO_SOCKET reset: its peer closed
	// first and holds the connection in TIME-WAIT.
	ClosedClean bool
	ClosedAgo   time.Duration
	// AddrElsewhere is the inode of another network namespace on this host
	// that holds the reset's source address on a working link, 0 for none:
	// two hosts answering for one address (read for NO_SOCKET resets that
	// answered no SYN).
	AddrElsewhere uint32
	// Conntrack is what the host's connection tracking knew of the flow
	// whose segment a netfilter reset answered (KernelNetfilter).
	Conntrack Conntrack
}

// Conntrack says what a host's connection tracking knew of a flow.
type Conntrack uint8

const (
	// ConntrackNone: nothing known (conntrack not running there, or it
	// found the segment invalid).
	ConntrackNone Conntrack = iota
	// ConntrackNew: the segment was the first conntrack saw of the flow.
	ConntrackNew
	// ConntrackKnown: conntrack tracked the flow.
	ConntrackKnown
)

// KernelReason is the kernel's reason for this reset, or "".
func (c *Context) KernelReason() string { return trimReason(c.Kernel.Reason) }

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
	// SYNPorts estimates how many distinct destination ports the address
	// sent SYNs to (a scanner's mark; counted in 64 buckets, so at most 64).
	SYNPorts int
	// Talked counts the address's finished connections that carried its data.
	Talked int

	// What the address's packets look like from this capture point, over
	// its connections finished so far (resets never count): the model a
	// reset claiming to come from it is held against (cause/model.go).
	//
	// TTLs are the distinct TTLs / hop limits seen, the first four (0 ends
	// the list). Conns counts connection sides merged.
	TTLs  [4]uint8
	Conns int
	// IPv4 only: V4Packets packets, of which ZeroIDs carried IP ID 0 and
	// DFPackets had DF set; IDSteps pairs of consecutive non-zero IDs within
	// a connection, of which IDUp went up by 1 to flow.IPIDUpMax.
	V4Packets, ZeroIDs, DFPackets int
	IDSteps, IDUp                 int
	// StartsNear counts connections whose first non-zero IP ID came just
	// after the address's latest (a counter shared by all its connections,
	// as Windows and older BSDs keep); StartsFar those whose did not (a
	// counter per connection from a random start, as Linux keeps, or
	// random IDs). LastIPID is that latest ID.
	StartsNear, StartsFar int
	LastIPID              uint16
	// ZeroSYNACKs counts its SYN-ACKs with IP ID 0 (Linux answers from
	// the listener, which has no counter; its sockets count from a random
	// start once accepted).
	ZeroSYNACKs int
	// TSConns and NoTSConns count connections on which the address sent
	// TCP timestamps and did not.
	TSConns, NoTSConns int
	// SYN is the options of the address's first SYN or SYN-ACK (HasSYN);
	// SYNMixed says a later one differed (another stack behind the
	// address: NAT, a load balancer's pool).
	SYN              packet.Options
	HasSYN, SYNMixed bool
}

// Verdict is the classifier's answer for one reset.
type Verdict struct {
	// ClientDir is the direction of the client's packets, as the
	// classifier judged it (every output names client and server from it).
	ClientDir  flow.Dir
	Cause      ID
	Sender     Sender
	Confidence float64
	Evidence   []string
	Benign     bool
	// Alternatives are the other causes the evidence leaves open, most
	// likely first, with their probabilities (Confidence plus theirs is at
	// most 1).
	Alternatives []Alternative
}

// Alternative is a cause the evidence does not rule out.
type Alternative struct {
	Cause       ID
	Probability float64
}

// Earlier is the verdict on an earlier reset of the same connection.
type Earlier struct {
	Frame  uint64
	Cause  ID
	Sender Sender
	// Confidence is that verdict's, 0 when not known.
	Confidence float64
}
