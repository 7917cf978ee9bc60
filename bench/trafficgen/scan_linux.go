package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"golang.org/x/sys/unix"
)

// synProbe sends one bare SYN from src to dst on a raw socket, as a SYN
// scanner does: no socket of ours holds src's port, so when an open port
// answers with a SYN-ACK our kernel resets it (NO_SOCKET), and a closed
// port answers with a reset itself.
func synProbe(src, dst netip.AddrPort) error {
	fam, level, opt := unix.AF_INET, 0, 0
	if dst.Addr().Is6() {
		fam, level, opt = unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_CHECKSUM
	}
	fd, err := unix.Socket(fam, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	var h [20]byte
	binary.BigEndian.PutUint16(h[0:], src.Port())
	binary.BigEndian.PutUint16(h[2:], dst.Port())
	binary.BigEndian.PutUint32(h[4:], rand.Uint32())
	h[12] = 5 << 4                           // data offset: 5 words, no options
	h[13] = 0x02                             // SYN
	binary.BigEndian.PutUint16(h[14:], 1024) // a scanner's small window
	if fam == unix.AF_INET6 {
		// The kernel fills the checksum at offset 16 (RFC 3542 §3.1).
		if err := unix.SetsockoptInt(fd, level, opt, 16); err != nil {
			return fmt.Errorf("IPV6_CHECKSUM: %w", err)
		}
		return unix.Sendto(fd, h[:], 0, &unix.SockaddrInet6{Addr: dst.Addr().As16()})
	}
	binary.BigEndian.PutUint16(h[16:], tcpChecksum4(src.Addr().As4(), dst.Addr().As4(), h[:]))
	return unix.Sendto(fd, h[:], 0, &unix.SockaddrInet4{Addr: dst.Addr().As4()})
}

// tcpChecksum4 is the TCP checksum over the IPv4 pseudo-header and seg
// (RFC 9293 §3.1).
func tcpChecksum4(src, dst [4]byte, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += 6 + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
