package sighting

import (
	"encoding/binary"

	"github.com/rstscope/rstscope/packet"
)

// peeked is what the index needs of a segment that adds nothing but its
// time and TTL to a connection: where its addresses and ports are in the
// frame, its flags and payload length.
type peeked struct {
	addrs   []byte // source then destination address, 4 or 16 bytes each
	ports   []byte // source then destination port
	ttl     uint8
	flags   byte // the TCP flags byte (FIN, SYN, RST, PSH, ACK, URG)
	payload int
}

// peek reads those fields from a plain Ethernet II frame carrying an
// unfragmented IPv4 datagram or an IPv6 packet without extension headers,
// and TCP; for anything else (VLAN tags, tunnels, other link types, damage)
// it returns false and the frame goes through packet.Decode. Most frames of
// a capture are bare ACKs or segments of connections already fingerprinted,
// which cost the index a full decode and a flow key each: half of the index
// pass's own work on bench/out/traffic.pcap.
func peek(data []byte, link packet.LinkType) (peeked, bool) {
	var p peeked
	if link != packet.LinkEthernet || len(data) < 14 {
		return p, false
	}
	ip := data[14:]
	var tcp []byte
	switch binary.BigEndian.Uint16(data[12:]) {
	case 0x0800:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return p, false
		}
		ihl := int(ip[0]&0x0f) * 4
		// Fragments (MF or an offset) and non-TCP go the long way.
		if ihl < 20 || len(ip) < ihl || ip[9] != 6 || ip[6]&0x3f != 0 || ip[7] != 0 {
			return p, false
		}
		tcp = ip[ihl:]
		p.addrs, p.ttl = ip[12:20], ip[8]
		p.payload = int(binary.BigEndian.Uint16(ip[2:])) - ihl
	case 0x86dd:
		if len(ip) < 40 || ip[0]>>4 != 6 || ip[6] != 6 {
			return p, false
		}
		tcp = ip[40:]
		p.addrs, p.ttl = ip[8:40], ip[7]
		p.payload = int(binary.BigEndian.Uint16(ip[4:]))
	default:
		return p, false
	}
	if len(tcp) < 20 {
		return p, false
	}
	off := int(tcp[12]>>4) * 4
	p.payload -= off
	if off < 20 || p.payload < 0 {
		return p, false
	}
	p.ports, p.flags = tcp[:4], tcp[13]
	return p, true
}

// lastConn is the raw addresses and ports of the connection the previous
// frame belonged to, to recognise the next frame of it without a decode.
type lastConn struct {
	addrs [32]byte
	n     int // address bytes used: 8 (IPv4) or 32 (IPv6), 0 for none
	ports [4]byte
	side  side // the side that sent the frame these were taken from
}

func (l *lastConn) set(p *peeked, s side) {
	l.n = copy(l.addrs[:], p.addrs)
	copy(l.ports[:], p.ports)
	l.side = s
}

// sideOf says which side of the last connection sent p, if p is on it.
func (l *lastConn) sideOf(p *peeked) (side, bool) {
	if l.n == 0 || len(p.addrs) != l.n {
		return 0, false
	}
	h := l.n / 2
	a, b := p.addrs[:h], p.addrs[h:]
	switch {
	case string(a) == string(l.addrs[:h]) && string(b) == string(l.addrs[h:l.n]) &&
		string(p.ports) == string(l.ports[:]):
		return l.side, true
	case string(a) == string(l.addrs[h:l.n]) && string(b) == string(l.addrs[:h]) &&
		p.ports[0] == l.ports[2] && p.ports[1] == l.ports[3] && p.ports[2] == l.ports[0] && p.ports[3] == l.ports[1]:
		return l.side ^ 1, true
	}
	return 0, false
}
