// Package packet decodes a captured frame — link layer, IPv4 or IPv6 (through
// VLAN tags and common tunnels), TCP — into a value the caller owns.
//
// Decode allocates nothing: addresses are netip.Addr values and Payload
// aliases the input buffer, so a Packet is valid only as long as the buffer
// the capture reader handed out (see capture.Reader for who owns that).
package packet

import (
	"errors"
	"net/netip"
)

// Errors Decode returns. They are preallocated so that decoding a packet that
// is not TCP costs no allocation. ErrNotTCP and ErrFragment are normal
// outcomes, not damage.
var (
	ErrNotTCP        = errors.New("not a TCP packet")
	ErrFragment      = errors.New("IP fragment not reassembled") // a non-first one, or a first without the whole TCP header
	ErrTruncated     = errors.New("headers cut short")
	ErrMalformed     = errors.New("malformed header")
	ErrUnknownLink   = errors.New("unsupported link type")
	ErrTooManyLayers = errors.New("too many nested encapsulations")
	// ErrTunnel marks a packet inside an encapsulation Decode does not
	// open (IPsec ESP, L2TP, Geneve, a GTP-U session that carries no IP),
	// so that what was not looked into can be counted and said.
	ErrTunnel = errors.New("inside an encapsulation not decoded")
)

// Flags are the TCP header flags, including the NS bit as bit 8.
type Flags uint16

// TCP flags (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

// Has reports whether all of f2 are set in f.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

func (f Flags) String() string {
	const names = "FSRPAUECN"
	var b [9]byte
	n := 0
	for i := 0; i < 9; i++ {
		if f&(1<<i) != 0 {
			b[n] = names[i]
			n++
		}
	}
	if n == 0 {
		return "."
	}
	return string(b[:n])
}

// Options are the TCP options rstscope uses to recognise an endpoint.
type Options struct {
	MSS       uint16
	WScale    uint8
	HasMSS    bool
	HasWScale bool
	SACKPerm  bool
	HasSACK   bool
	HasTS     bool
	TSVal     uint32
	TSEcr     uint32
	// Len is the length of the option bytes in the header.
	Len uint8
}

// Packet is one decoded TCP segment with the link and IP facts attribution needs.
type Packet struct {
	Link LinkType
	// SrcMAC and DstMAC are the Ethernet (or cooked-capture source, or FDDI)
	// addresses; through a tunnel carrying Ethernet (VXLAN, GRE bridging,
	// ERSPAN) they are the inner frame's.
	HasMAC bool
	SrcMAC [6]byte
	DstMAC [6]byte
	// VLANs counts 802.1Q / 802.1ad tags; VLAN is the outermost tag's ID.
	VLANs uint8
	VLAN  uint16
	// Tunnels counts the encapsulations stripped to reach this TCP segment
	// (GRE, IP-in-IP, Teredo, VXLAN, GTP-U).
	Tunnels uint8

	IPVersion uint8
	// IPLen is the IP datagram's length on the wire (header included).
	IPLen    int
	Src, Dst netip.Addr
	TTL      uint8 // TTL or IPv6 hop limit
	IPID     uint16
	DF       bool
	// Fragmented is set for the first fragment of a fragmented IPv4 or IPv6
	// datagram.
	Fragmented bool
	// FragProto is, with ErrFragment, the protocol the fragment's datagram
	// carries (6 for TCP).
	FragProto uint8
	// FragDatagram is, for a fragment (first or not) captured whole, its IP
	// datagram from the header on, for a Reassembler; nil otherwise. It
	// aliases the input, like Payload. Through a tunnel it is the outermost
	// fragmented datagram.
	FragDatagram []byte

	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            Flags
	Window           uint16
	Urgent           uint16
	Opt              Options

	// PayloadLen is the TCP payload length the IP header announces (the wire's
	// length), even when the capture cut the bytes short.
	PayloadLen int
	// Payload is the captured part of the payload; it aliases the input.
	Payload []byte
	// Truncated says the capture cut this frame (snaplen) before its end.
	Truncated bool
}

// SrcAddrPort and DstAddrPort return the endpoints as netip.AddrPort.
func (p *Packet) SrcAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Src, p.SrcPort) }

// DstAddrPort returns the destination endpoint.
func (p *Packet) DstAddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Dst, p.DstPort) }
