package packet

import "encoding/binary"

// LinkType is a pcap LINKTYPE_ value (https://www.tcpdump.org/linktypes.html).
type LinkType uint16

// The link types Decode understands.
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte host-order address family
	LinkEthernet LinkType = 1   // Ethernet II and 802.3 + LLC/SNAP
	LinkFDDI     LinkType = 10  // FDDI with LLC/SNAP
	LinkRaw      LinkType = 101 // raw IPv4 or IPv6
	LinkDLTRaw12 LinkType = 12  // DLT_RAW on most BSDs
	LinkDLTRaw14 LinkType = 14  // DLT_RAW on OpenBSD
	LinkLoop     LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkSLL      LinkType = 113 // Linux cooked capture v1
	LinkIPv4     LinkType = 228
	LinkIPv6     LinkType = 229
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

// Supported reports whether Decode understands the link type.
func (l LinkType) Supported() bool {
	switch l {
	case LinkNull, LinkEthernet, LinkFDDI, LinkRaw, LinkDLTRaw12, LinkDLTRaw14, LinkLoop,
		LinkSLL, LinkIPv4, LinkIPv6, LinkSLL2:
		return true
	}
	return false
}

const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86DD
	etherVLAN   = 0x8100
	etherQinQ   = 0x88A8
	etherQinQ2  = 0x9100
	etherMPLS   = 0x8847
	etherMPLSmc = 0x8848
	etherPPPoE  = 0x8864
	etherTEB    = 0x6558 // transparent Ethernet bridging (GRE)
	etherERSPAN = 0x88BE // ERSPAN type I/II
	etherERSPN3 = 0x22EB // ERSPAN type III
	etherAruba  = 0x8200 // Aruba WLAN: 802.11 frames in GRE
)

// Decode decodes data, a frame of link type lt, into p. It allocates nothing.
// It returns ErrNotTCP for frames that carry no TCP segment, ErrFragment for
// non-first IPv4 and IPv6 fragments, and ErrTruncated or ErrMalformed for
// damage. A frame cut short inside the TCP options or payload decodes fine
// with p.Truncated set.
func (p *Packet) Decode(data []byte, lt LinkType) error {
	*p = Packet{Link: lt}
	switch lt {
	case LinkEthernet:
		return p.decodeEthernet(data, 0)
	case LinkNull:
		if len(data) < 4 {
			return ErrTruncated
		}
		// The family is in the capturing host's byte order; accept either.
		fam := binary.LittleEndian.Uint32(data)
		if fam > 0xFFFF {
			fam = binary.BigEndian.Uint32(data)
		}
		return p.decodeNullFamily(fam, data[4:])
	case LinkLoop:
		if len(data) < 4 {
			return ErrTruncated
		}
		return p.decodeNullFamily(binary.BigEndian.Uint32(data), data[4:])
	case LinkRaw, LinkDLTRaw12, LinkDLTRaw14:
		return p.decodeIP(data, 0)
	case LinkIPv4:
		return p.decodeIPv4(data, 0)
	case LinkIPv6:
		return p.decodeIPv6(data, 0)
	case LinkSLL:
		// 16 bytes: packet type, ARPHRD, address length, 8 address bytes, protocol.
		if len(data) < 16 {
			return ErrTruncated
		}
		p.setSLLAddr(binary.BigEndian.Uint16(data[2:]), data[4:6], data[6:14])
		return p.decodeEtherType(binary.BigEndian.Uint16(data[14:]), data[16:], 0)
	case LinkSLL2:
		// 20 bytes: protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes.
		if len(data) < 20 {
			return ErrTruncated
		}
		p.setSLLAddr(binary.BigEndian.Uint16(data[8:]), data[11:12], data[12:20])
		return p.decodeEtherType(binary.BigEndian.Uint16(data[0:]), data[20:], 0)
	case LinkFDDI:
		// Frame control, destination, source, then LLC.
		if len(data) < 13 {
			return ErrTruncated
		}
		p.HasMAC = true
		copy(p.DstMAC[:], data[1:7])
		copy(p.SrcMAC[:], data[7:13])
		return p.decodeLLC(data[13:], 0)
	}
	return ErrUnknownLink
}

// setSLLAddr records the sender's MAC from a cooked header when it is Ethernet's.
func (p *Packet) setSLLAddr(arphrd uint16, alen []byte, addr []byte) {
	const arphrdEther = 1
	if arphrd == arphrdEther && (len(alen) == 1 && alen[0] == 6 || len(alen) == 2 && binary.BigEndian.Uint16(alen) == 6) {
		p.HasMAC = true
		copy(p.SrcMAC[:], addr[:6])
	}
}

func (p *Packet) decodeNullFamily(fam uint32, data []byte) error {
	switch fam {
	case 2:
		return p.decodeIPv4(data, 0)
	case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin
		return p.decodeIPv6(data, 0)
	}
	return ErrNotTCP
}

// maxDepth bounds nested encapsulation so crafted input cannot loop.
const maxDepth = 4

func (p *Packet) decodeEthernet(data []byte, depth int) error {
	if len(data) < 14 {
		return ErrTruncated
	}
	// An inner frame (VXLAN, GRE bridging, ERSPAN) replaces the outer MACs:
	// those belong to tunnel endpoints or the mirroring switch, the inner
	// ones to the hosts whose IP header follows, which is what attribution
	// compares.
	p.HasMAC = true
	copy(p.DstMAC[:], data[0:6])
	copy(p.SrcMAC[:], data[6:12])
	et := binary.BigEndian.Uint16(data[12:])
	if et <= 1500 { // 802.3 length field: LLC follows
		return p.decodeLLC(data[14:], depth)
	}
	return p.decodeEtherType(et, data[14:], depth)
}

// decodeLLC handles 802.2 LLC with a SNAP header carrying an EtherType.
func (p *Packet) decodeLLC(data []byte, depth int) error {
	if len(data) < 8 {
		return ErrTruncated
	}
	if data[0] != 0xAA || data[1] != 0xAA || data[2] != 0x03 {
		return ErrNotTCP
	}
	return p.decodeEtherType(binary.BigEndian.Uint16(data[6:]), data[8:], depth)
}

func (p *Packet) decodeEtherType(et uint16, data []byte, depth int) error {
	for {
		switch et {
		case etherIPv4:
			return p.decodeIPv4(data, depth)
		case etherIPv6:
			return p.decodeIPv6(data, depth)
		case etherVLAN, etherQinQ, etherQinQ2:
			if len(data) < 4 {
				return ErrTruncated
			}
			if p.VLANs == 0 {
				p.VLAN = binary.BigEndian.Uint16(data) & 0x0FFF
			}
			if p.VLANs < 255 {
				p.VLANs++
			}
			et = binary.BigEndian.Uint16(data[2:])
			data = data[4:]
		case etherMPLS, etherMPLSmc:
			// Pop labels to the bottom of the stack; guess IP by its version nibble.
			for {
				if len(data) < 4 {
					return ErrTruncated
				}
				bottom := data[2]&1 == 1
				data = data[4:]
				if bottom {
					break
				}
			}
			return p.decodeIP(data, depth)
		case etherPPPoE:
			// 6-byte PPPoE session header, then a 2-byte PPP protocol.
			if len(data) < 8 {
				return ErrTruncated
			}
			switch binary.BigEndian.Uint16(data[6:]) {
			case 0x0021:
				return p.decodeIPv4(data[8:], depth)
			case 0x0057:
				return p.decodeIPv6(data[8:], depth)
			}
			return ErrNotTCP
		default:
			return ErrNotTCP
		}
	}
}

// decodeIP dispatches on the IP version nibble (raw IP link types, MPLS).
func (p *Packet) decodeIP(data []byte, depth int) error {
	if len(data) < 1 {
		return ErrTruncated
	}
	switch data[0] >> 4 {
	case 4:
		return p.decodeIPv4(data, depth)
	case 6:
		return p.decodeIPv6(data, depth)
	}
	return ErrNotTCP
}
