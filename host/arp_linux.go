package host

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// probe is one interface being probed.
type probe struct {
	iface net.Interface
	own   []netip.Addr
	fd    int
}

// probeDuplicates sends an ARP probe for each IPv4 address of each up,
// non-loopback Ethernet interface and listens up to wait for anyone else
// claiming one. It needs CAP_NET_RAW (AF_PACKET) and runs in the calling
// thread's network namespace, all on one goroutine.
func probeDuplicates(wait time.Duration) ([]Duplicate, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var probes []probe
	defer func() {
		for _, p := range probes {
			unix.Close(p.fd)
		}
	}()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 ||
			ifc.Flags&net.FlagPointToPoint != 0 || len(ifc.HardwareAddr) != 6 {
			continue
		}
		own := ipv4Addrs(&ifc)
		if len(own) == 0 {
			continue
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(etherTypeARP)))
		if err != nil {
			return nil, fmt.Errorf("opening AF_PACKET socket: %w", err)
		}
		probes = append(probes, probe{iface: ifc, own: own, fd: fd})
		sa := &unix.SockaddrLinklayer{Protocol: htons(etherTypeARP), Ifindex: ifc.Index}
		if err := unix.Bind(fd, sa); err != nil {
			return nil, fmt.Errorf("binding to %s: %w", ifc.Name, err)
		}
		to := &unix.SockaddrLinklayer{Protocol: htons(etherTypeARP), Ifindex: ifc.Index, Halen: 6,
			Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		for _, a := range own {
			if err := unix.Sendto(fd, arpProbe(ifc.HardwareAddr, a), 0, to); err != nil {
				return nil, fmt.Errorf("sending ARP probe on %s: %w", ifc.Name, err)
			}
		}
	}
	return collectConflicts(probes, wait)
}

// collectConflicts polls the probe sockets until wait has passed.
func collectConflicts(probes []probe, wait time.Duration) ([]Duplicate, error) {
	var out []Duplicate
	if len(probes) == 0 {
		return out, nil
	}
	seen := map[string]bool{}
	pfds := make([]unix.PollFd, len(probes))
	for i, p := range probes {
		pfds[i] = unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN}
	}
	buf := make([]byte, 1514)
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return out, nil
		}
		n, err := unix.Poll(pfds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("waiting for ARP replies: %w", err)
		}
		if n == 0 {
			continue
		}
		for i, p := range probes {
			if pfds[i].Revents&unix.POLLIN == 0 {
				continue
			}
			for {
				m, from, err := unix.Recvfrom(p.fd, buf, unix.MSG_DONTWAIT)
				if err != nil {
					break
				}
				if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
					continue // our own probe, looped back to the tap
				}
				addr, mac, ok := arpConflict(buf[:m], p.iface.HardwareAddr, p.own)
				key := p.iface.Name + addr.String() + mac.String()
				if ok && !seen[key] {
					seen[key] = true
					out = append(out, Duplicate{Iface: p.iface.Name, Addr: addr, MAC: mac})
				}
			}
		}
	}
}

func ipv4Addrs(ifc *net.Interface) []netip.Addr {
	as, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && n.IP.To4() != nil {
				out = append(out, ip)
			}
		}
	}
	return out
}

// htons puts a protocol number in network byte order, as AF_PACKET wants.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
