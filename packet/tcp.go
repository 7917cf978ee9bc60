package packet

import "encoding/binary"

// decodeTCP decodes a TCP header (RFC 9293 §3.1) and its options. b is the
// captured segment, wire its length by the IP header.
func (p *Packet) decodeTCP(b []byte, wire int) error {
	if p.Fragmented && (wire < tcpMinHdr || len(b) > 12 && int(b[12]>>4)*4 > wire) {
		// A first fragment too short for the TCP header (RFC 1858's tiny
		// fragment): the rest of the header is in a fragment not reassembled.
		p.FragProto = protoTCP
		return ErrFragment
	}
	if len(b) < tcpMinHdr {
		return ErrTruncated
	}
	p.SrcPort = binary.BigEndian.Uint16(b[0:])
	p.DstPort = binary.BigEndian.Uint16(b[2:])
	p.Seq = binary.BigEndian.Uint32(b[4:])
	p.Ack = binary.BigEndian.Uint32(b[8:])
	off := int(b[12]>>4) * 4
	p.Flags = Flags(b[13]) | Flags(b[12]&1)<<8
	p.Window = binary.BigEndian.Uint16(b[14:])
	p.Urgent = binary.BigEndian.Uint16(b[18:])
	if off < tcpMinHdr || off > wire {
		return ErrMalformed
	}
	p.PayloadLen = wire - off
	if len(b) < off {
		// Options cut by the snaplen: keep what parses.
		p.Truncated = true
		p.parseOptions(b[tcpMinHdr:])
		p.Opt.Len = uint8(off - tcpMinHdr)
		return nil
	}
	p.parseOptions(b[tcpMinHdr:off])
	p.Opt.Len = uint8(off - tcpMinHdr)
	p.Payload = b[off:]
	if len(p.Payload) < p.PayloadLen {
		p.Truncated = true
	}
	return nil
}

// parseOptions reads the options rstscope uses; it stops quietly at the
// first malformed option, as Linux's tcp_parse_options does.
func (p *Packet) parseOptions(b []byte) {
	o := &p.Opt
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case 0: // end of list
			return
		case 1: // no-op
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			return
		}
		switch {
		case kind == 2 && n == 4:
			o.HasMSS, o.MSS = true, binary.BigEndian.Uint16(b[2:])
		case kind == 3 && n == 3:
			o.HasWScale, o.WScale = true, b[2]
		case kind == 4 && n == 2:
			o.SACKPerm = true
		case kind == 5:
			o.HasSACK = true
		case kind == 8 && n == 10:
			o.HasTS = true
			o.TSVal = binary.BigEndian.Uint32(b[2:])
			o.TSEcr = binary.BigEndian.Uint32(b[6:])
		}
		b = b[n:]
	}
}
