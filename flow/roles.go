package flow

import "github.com/rstscope/rstscope/packet"

// ClientDir returns the direction of packets from the client, the side that
// opened the connection. It is rstscope's one answer to "which side is the
// client"; analyze and watch both ask it.
//
// In order of strength: the handshake (the side whose SYN without ACK was
// seen, or the other side of a SYN-ACK); the host's local port range when
// the caller knows it (watch reads net.ipv4.ip_local_port_range), a port in
// it being the client's; then the table's own choice of originator, which
// already followed Zeek's likely_server_ports when the first packet was not
// a SYN; and last, for two ports Zeek does not know, the well-known or
// non-ephemeral-looking port (below 1024, or below 32768 against one at or
// above it, the start of Linux's default range) is the server's.
func ClientDir(c *Conn, ephemeral [2]uint16) Dir {
	o, r := &c.Ep[FromOrig], &c.Ep[FromResp]
	switch {
	case c.SYNSeen, o.SawSYN && !o.SYNFlags.Has(packet.ACK), r.SawSYN && r.SYNFlags.Has(packet.ACK):
		return FromOrig
	case r.SawSYN && !r.SYNFlags.Has(packet.ACK), o.SawSYN && o.SYNFlags.Has(packet.ACK):
		return FromResp
	case c.Flipped:
		return FromOrig
	}
	op, rp := o.Addr.Port(), r.Addr.Port()
	if ephemeral[1] != 0 {
		oe := op >= ephemeral[0] && op <= ephemeral[1]
		re := rp >= ephemeral[0] && rp <= ephemeral[1]
		if oe != re {
			if re {
				return FromResp
			}
			return FromOrig
		}
	}
	if likelyServerPort(op) != likelyServerPort(rp) {
		if likelyServerPort(op) {
			return FromResp
		}
		return FromOrig
	}
	if op < 1024 && rp >= 1024 || op < rp && rp >= 32768 && op < 32768 {
		return FromResp
	}
	return FromOrig
}
