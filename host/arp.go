package host

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/rstscope/rstscope/cause"
)

// Duplicate is an IPv4 address of this host that another MAC answered for.
type Duplicate struct {
	Iface string
	Addr  netip.Addr
	MAC   net.HardwareAddr // the other host's
}

const (
	etherTypeARP = 0x0806
	arpFrameLen  = 14 + 28 // Ethernet header + ARP for IPv4 over Ethernet
	arpRequest   = 1
	arpReply     = 2
)

// arpProbe builds an RFC 5227 ARP probe for addr: a broadcast request with
// sender IP 0.0.0.0, so no neighbour's cache is changed, which every host
// holding addr must answer (Linux does so in arp_process).
func arpProbe(src net.HardwareAddr, addr netip.Addr) []byte {
	b := make([]byte, arpFrameLen)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], etherTypeARP)
	a := b[14:]
	binary.BigEndian.PutUint16(a[0:2], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:4], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], arpRequest)
	copy(a[8:14], src)
	// sender IP (a[14:18]) and target MAC (a[18:24]) stay zero.
	ip := addr.As4()
	copy(a[24:28], ip[:])
	return b
}

// arpConflict reports whether frame claims one of own for a MAC other than
// self: a reply to our probe, or another host's own probe or announcement.
func arpConflict(frame []byte, self net.HardwareAddr, own []netip.Addr) (netip.Addr, net.HardwareAddr, bool) {
	if len(frame) < arpFrameLen || binary.BigEndian.Uint16(frame[12:14]) != etherTypeARP {
		return netip.Addr{}, nil, false
	}
	a := frame[14:]
	if binary.BigEndian.Uint16(a[2:4]) != 0x0800 || a[4] != 6 || a[5] != 4 {
		return netip.Addr{}, nil, false
	}
	op := binary.BigEndian.Uint16(a[6:8])
	sha := net.HardwareAddr(bytes.Clone(a[8:14]))
	if bytes.Equal(sha, self) {
		return netip.Addr{}, nil, false
	}
	spa := netip.AddrFrom4([4]byte(a[14:18]))
	tpa := netip.AddrFrom4([4]byte(a[24:28]))
	for _, o := range own {
		switch {
		case (op == arpReply || op == arpRequest) && spa == o:
			return o, sha, true
		case op == arpRequest && spa.IsUnspecified() && tpa == o:
			// another host probing for our address: it wants it too.
			return o, sha, true
		}
	}
	return netip.Addr{}, nil, false
}

func auditDuplicates(ds []Duplicate) []Finding {
	var out []Finding
	for _, d := range ds {
		out = append(out, Finding{
			ID:       fmt.Sprintf("dupaddr.ipv4.%s.%s", d.Iface, d.Addr),
			Severity: Critical,
			Cause:    cause.DuplicateIP,
			Summary:  fmt.Sprintf("%s on %s is also claimed by %s: peers reach either host, and the wrong one resets their connections", d.Addr, d.Iface, d.MAC),
			Evidence: []string{fmt.Sprintf("ARP probe for %s on %s answered by %s", d.Addr, d.Iface, d.MAC)},
			Advice: []string{
				fmt.Sprintf("arping -D -I %s %s  # repeat the probe", d.Iface, d.Addr),
				fmt.Sprintf("find the host with MAC %s (switch MAC table, DHCP leases) and give one of them another address", d.MAC),
			},
		})
	}
	return out
}
