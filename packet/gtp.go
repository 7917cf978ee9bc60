package packet

import "encoding/binary"

// portGTPU is GTP-U's UDP port (3GPP TS 29.281 §4.4.2): mobile cores carry
// subscribers' IP traffic in it between the radio network and the gateways
// (eNodeB/gNB, SGW, PGW, UPF).
const portGTPU = 2152

// gtpGPDU is the message type of a G-PDU, a user packet (TS 29.281 §6.1).
const gtpGPDU = 0xFF

// decodeGTPU handles a GTPv1-U G-PDU carrying IPv4 or IPv6 (TS 29.281 §5.1):
// an 8-byte header of flags, type, length and TEID; four more bytes
// (sequence number, N-PDU number, next extension type) when any of the E,
// S or PN flags is set; then extension headers while the next type is not 0,
// each four times its first byte long with the next type in its last byte
// (§5.2.1). Other messages (echo, error indication, end marker) carry no
// user packet.
func (t tunnel) decodeGTPU(b []byte, depth int) error {
	if t.p == nil {
		return ErrTooManyLayers
	}
	// Version 1, protocol type 1 (GTP, not GTP'), a G-PDU.
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 || b[1] != gtpGPDU {
		return ErrNotTCP
	}
	flags := b[0]
	if n := int(binary.BigEndian.Uint16(b[2:])); len(b)-8 > n {
		b = b[:8+n] // the length counts what follows the 8-byte header
	}
	b = b[8:]
	if flags&0x07 != 0 {
		if len(b) < 4 {
			return ErrTruncated
		}
		next := b[3]
		b = b[4:]
		if flags&0x04 == 0 {
			next = 0 // the E flag is off: the byte is not meaningful
		}
		for next != 0 {
			if len(b) < 4 || b[0] == 0 {
				return ErrTruncated
			}
			n := int(b[0]) * 4
			if len(b) < n {
				return ErrTruncated
			}
			next, b = b[n-1], b[n:]
		}
	}
	if len(b) == 0 {
		return ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return t.p.decodeIPv4(b, depth+1)
	case 6:
		return t.p.decodeIPv6(b, depth+1)
	}
	return ErrTunnel // an Ethernet or unstructured PDU session (5G)
}
