package packet

import (
	"encoding/binary"
	"net/netip"
)

const (
	protoIPIP   = 4
	protoTCP    = 6
	protoUDP    = 17
	protoIPv6   = 41
	protoGRE    = 47
	protoESP    = 50
	portL2TP    = 1701
	portGeneve  = 6081
	portTeredo  = 3544
	portVXLAN   = 4789
	ipv4MinHdr  = 20
	ipv6HdrLen  = 40
	tcpMinHdr   = 20
	ipv4FlagDF  = 0x4000
	ipv4FlagMF  = 0x2000
	ipv4FragOff = 0x1FFF
)

// decodeIPv4 decodes an IPv4 header (RFC 791), options included.
func (p *Packet) decodeIPv4(data []byte, depth int) error {
	if len(data) < ipv4MinHdr {
		return ErrTruncated
	}
	if data[0]>>4 != 4 {
		return ErrMalformed
	}
	ihl := int(data[0]&0x0F) * 4
	if ihl < ipv4MinHdr {
		return ErrMalformed
	}
	if len(data) < ihl {
		return ErrTruncated
	}
	total := int(binary.BigEndian.Uint16(data[2:]))
	if total == 0 {
		// TCP segmentation offload: the stack left the length for the NIC.
		total = len(data)
	}
	if total < ihl {
		return ErrMalformed
	}
	p.IPVersion = 4
	p.IPLen = total
	p.Src = netip.AddrFrom4([4]byte(data[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(data[16:20]))
	p.TTL = data[8]
	p.IPID = binary.BigEndian.Uint16(data[4:])
	frag := binary.BigEndian.Uint16(data[6:])
	p.DF = frag&ipv4FlagDF != 0
	if frag&(ipv4FragOff|ipv4FlagMF) != 0 && p.FragDatagram == nil && len(data) >= total && total > ihl {
		p.FragDatagram = data[:total]
	}
	if frag&ipv4FragOff != 0 {
		p.FragProto = data[9]
		return ErrFragment
	}
	// Through a tunnel, an outer first fragment leaves the inner segment
	// incomplete too: keep its mark.
	p.Fragmented = p.Fragmented || frag&ipv4FlagMF != 0
	// Trim link padding; note a capture cut before the datagram's end.
	wire := total - ihl
	body := data[ihl:]
	if len(body) > wire {
		body = body[:wire]
	}
	return p.decodeTransport(data[9], body, wire, depth)
}

// decodeIPv6 decodes an IPv6 header (RFC 8200) and walks extension headers.
func (p *Packet) decodeIPv6(data []byte, depth int) error {
	if len(data) < ipv6HdrLen {
		return ErrTruncated
	}
	if data[0]>>4 != 6 {
		return ErrMalformed
	}
	p.IPVersion = 6
	p.Src = netip.AddrFrom16([16]byte(data[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(data[24:40]))
	p.TTL = data[7]
	p.IPID = 0
	p.DF = false
	wire := int(binary.BigEndian.Uint16(data[4:]))
	body := data[ipv6HdrLen:]
	if wire == 0 { // jumbogram or TSO: trust what was captured
		wire = len(body)
	}
	p.IPLen = ipv6HdrLen + wire
	if len(body) > wire {
		body = body[:wire]
	}
	next := data[6]
	for {
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination, mobility, HIP, shim6
			if len(body) < 8 {
				return ErrTruncated
			}
			n := (int(body[1]) + 1) * 8
			if len(body) < n || wire < n {
				return ErrTruncated
			}
			next, body, wire = body[0], body[n:], wire-n
		case 44: // fragment
			if len(body) < 8 || wire < 8 {
				return ErrTruncated
			}
			off := binary.BigEndian.Uint16(body[2:])
			if off&0xFFF9 != 0 && p.FragDatagram == nil && p.IPLen > ipv6HdrLen && len(data) >= p.IPLen {
				p.FragDatagram = data[:p.IPLen]
			}
			if off&0xFFF8 != 0 {
				p.FragProto = body[0]
				return ErrFragment
			}
			p.Fragmented = p.Fragmented || off&1 != 0
			p.IPID = uint16(binary.BigEndian.Uint32(body[4:]))
			next, body, wire = body[0], body[8:], wire-8
		case 51: // authentication header: length in 4-byte units, minus 2
			if len(body) < 8 {
				return ErrTruncated
			}
			n := (int(body[1]) + 2) * 4
			if len(body) < n || wire < n {
				return ErrTruncated
			}
			next, body, wire = body[0], body[n:], wire-n
		default:
			return p.decodeTransport(next, body, wire, depth)
		}
	}
}

// decodeTransport decodes TCP or steps into a tunnel. body is the captured
// part of the IP payload; wire is its length on the wire.
func (p *Packet) decodeTransport(proto uint8, body []byte, wire, depth int) error {
	switch proto {
	case protoTCP:
		return p.decodeTCP(body, wire)
	case protoIPIP:
		return p.enter(depth).decodeIPv4Tunnel(body, depth)
	case protoIPv6:
		return p.enter(depth).decodeIPv6Tunnel(body, depth)
	case protoGRE:
		return p.enter(depth).decodeGRE(body, depth)
	case protoESP:
		return ErrTunnel // encrypted
	case protoUDP:
		if len(body) < 8 {
			return ErrNotTCP
		}
		sport, dport := binary.BigEndian.Uint16(body), binary.BigEndian.Uint16(body[2:])
		switch {
		case sport == portVXLAN || dport == portVXLAN:
			if len(body) < 16 {
				return ErrNotTCP
			}
			return p.enter(depth).decodeEthernetTunnel(body[16:], depth)
		case sport == portTeredo || dport == portTeredo:
			return p.enter(depth).decodeTeredo(body[8:], depth)
		case sport == portGTPU || dport == portGTPU:
			return p.enter(depth).decodeGTPU(body[8:], depth)
		case sport == portL2TP || dport == portL2TP, sport == portGeneve || dport == portGeneve:
			return ErrTunnel
		}
	}
	return ErrNotTCP
}

// tunnel is a Packet entering one more encapsulation; a nil tunnel means the
// depth limit was reached.
type tunnel struct{ p *Packet }

func (p *Packet) enter(depth int) tunnel {
	if depth+1 >= maxDepth {
		return tunnel{}
	}
	if p.Tunnels < 255 {
		p.Tunnels++
	}
	return tunnel{p}
}

func (t tunnel) decodeIPv4Tunnel(b []byte, depth int) error {
	if t.p == nil {
		return ErrTooManyLayers
	}
	return t.p.decodeIPv4(b, depth+1)
}

func (t tunnel) decodeIPv6Tunnel(b []byte, depth int) error {
	if t.p == nil {
		return ErrTooManyLayers
	}
	return t.p.decodeIPv6(b, depth+1)
}

func (t tunnel) decodeEthernetTunnel(b []byte, depth int) error {
	if t.p == nil {
		return ErrTooManyLayers
	}
	return t.p.decodeEthernet(b, depth+1)
}

// decodeGRE handles GRE (RFC 2784/2890) carrying IP, Ethernet or ERSPAN.
func (t tunnel) decodeGRE(b []byte, depth int) error {
	if t.p == nil {
		return ErrTooManyLayers
	}
	if len(b) < 4 {
		return ErrNotTCP
	}
	flags := binary.BigEndian.Uint16(b)
	et := binary.BigEndian.Uint16(b[2:])
	n := 4
	if flags&0x8000 != 0 { // checksum present
		n += 4
	}
	if flags&0x2000 != 0 { // key present
		n += 4
	}
	if flags&0x1000 != 0 { // sequence present
		n += 4
	}
	if len(b) < n {
		return ErrTruncated
	}
	b = b[n:]
	switch et {
	case etherTEB:
		return t.p.decodeEthernet(b, depth+1)
	case etherERSPAN:
		if flags&0x1000 == 0 { // type I: no header
			return t.p.decodeEthernet(b, depth+1)
		}
		if len(b) < 8 {
			return ErrTruncated
		}
		return t.p.decodeEthernet(b[8:], depth+1)
	case etherAruba:
		return t.p.decode80211(b, depth+1)
	case etherERSPN3:
		if len(b) < 12 {
			return ErrTruncated
		}
		return t.p.decodeEthernet(b[12:], depth+1)
	}
	return t.p.decodeEtherType(et, b, depth+1)
}

// decodeTeredo handles RFC 4380 Teredo: IPv6 in UDP, after optional
// authentication and origin indicators.
func (t tunnel) decodeTeredo(b []byte, depth int) error {
	if t.p == nil {
		return ErrTooManyLayers
	}
	for len(b) >= 2 && b[0] == 0 {
		switch b[1] {
		case 1: // authentication: id len, auth len, then 8 nonce + 1 confirmation
			if len(b) < 4 {
				return ErrNotTCP
			}
			n := 4 + int(b[2]) + int(b[3]) + 9
			if len(b) < n {
				return ErrNotTCP
			}
			b = b[n:]
		case 0: // origin indication
			if len(b) < 8 {
				return ErrNotTCP
			}
			b = b[8:]
		default:
			return ErrNotTCP
		}
	}
	if len(b) < ipv6HdrLen || b[0]>>4 != 6 {
		return ErrNotTCP
	}
	return t.p.decodeIPv6(b, depth+1)
}

// decode80211 handles an IEEE 802.11 data frame with LLC/SNAP, as Aruba
// access points tunnel them in GRE.
func (p *Packet) decode80211(b []byte, depth int) error {
	if len(b) < 24 {
		return ErrTruncated
	}
	fc0, fc1 := b[0], b[1]
	if (fc0>>2)&3 != 2 { // not a data frame
		return ErrNotTCP
	}
	n := 24
	if fc1&3 == 3 { // to-DS and from-DS: a fourth address
		n += 6
	}
	if fc0&0x80 != 0 { // QoS data subtype
		n += 2
		if fc1&0x80 != 0 { // order bit: HT control
			n += 4
		}
	}
	if len(b) < n {
		return ErrTruncated
	}
	return p.decodeLLC(b[n:], depth)
}
