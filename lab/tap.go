//go:build linux

package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// tap is a raw AF_PACKET socket on one router interface: the middlebox's
// eyes (read every frame crossing the interface) and hands (write whole
// Ethernet frames onto it).
type tap struct {
	fd int
}

// openTap opens a tap on ifname inside n; e closes it after the captures.
func (e *env) openTap(n *netns, ifname string) (*tap, error) {
	t := &tap{fd: -1}
	err := n.do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("finding %s: %w", ifname, err)
		}
		proto := htons(unix.ETH_P_ALL)
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
		if err != nil {
			return fmt.Errorf("opening tap: %w", err)
		}
		t.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
			return fmt.Errorf("binding tap: %w", err)
		}
		tv := unix.NsecToTimeval((20 * time.Millisecond).Nanoseconds())
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if t.fd >= 0 {
		e.keep(fdCloser(t.fd))
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// segment is one TCP segment the tap saw.
type segment struct {
	frame    []byte // the whole Ethernet frame, owned by the segment
	outgoing bool   // leaving the router on this interface
	from, to netip.AddrPort
	srcMAC   net.HardwareAddr
	dstMAC   net.HardwareAddr
	ttl      uint8
	ipID     uint16
	flow     uint32 // IPv6 flow label
	tcp      *layers.TCP
}

// next returns the next TCP segment, or an error once deadline passes.
func (t *tap) next(deadline time.Time) (segment, error) {
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		n, sa, err := unix.Recvfrom(t.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return segment{}, fmt.Errorf("reading tap: %w", err)
		}
		frame := append([]byte(nil), buf[:n]...)
		s, ok := decodeSegment(frame)
		if !ok {
			continue
		}
		if ll, ok := sa.(*unix.SockaddrLinklayer); ok {
			s.outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		return s, nil
	}
	return segment{}, errTapQuiet
}

// errTapQuiet is next's error when its deadline passes.
var errTapQuiet = errors.New("tap saw no matching segment in time")

func decodeSegment(frame []byte) (segment, bool) {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		return segment{}, false
	}
	var s segment
	var src, dst netip.Addr
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		s.ttl, s.ipID = ip.TTL, ip.Id
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		s.ttl, s.flow = ip.HopLimit, ip.FlowLabel
	default:
		return segment{}, false
	}
	if eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		s.srcMAC, s.dstMAC = eth.SrcMAC, eth.DstMAC
	}
	s.frame, s.tcp = frame, tcp
	s.from = netip.AddrPortFrom(src, uint16(tcp.SrcPort))
	s.to = netip.AddrPortFrom(dst, uint16(tcp.DstPort))
	return s, true
}

// send writes one Ethernet frame onto the tap's interface.
func (t *tap) send(frame []byte) error {
	if _, err := unix.Write(t.fd, frame); err != nil {
		return fmt.Errorf("writing tap: %w", err)
	}
	return nil
}

// forged describes a segment the middlebox makes up.
type forged struct {
	srcMAC, dstMAC net.HardwareAddr
	from, to       netip.AddrPort
	ttl            uint8
	ipID           uint16
	flow           uint32     // IPv6 flow label; 0 for none
	tcp            layers.TCP // ports, sequence numbers, flags, window
}

// replay is an exact copy of a segment the tap saw, for resending it with
// checksums made whole (a forwarded segment may still carry a partial,
// offloaded checksum when the tap reads it).
func replay(s segment) forged {
	return forged{srcMAC: s.srcMAC, dstMAC: s.dstMAC, from: s.from, to: s.to, ttl: s.ttl, ipID: s.ipID, tcp: *s.tcp}
}

// frame serializes f with correct lengths and checksums.
func (f forged) frame() ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: f.srcMAC, DstMAC: f.dstMAC, EthernetType: layers.EthernetTypeIPv4}
	tcp := f.tcp
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(f.from.Port()), layers.TCPPort(f.to.Port())
	var nl interface {
		gopacket.NetworkLayer
		gopacket.SerializableLayer
	}
	if f.from.Addr().Is4() {
		nl = &layers.IPv4{Version: 4, IHL: 5, TTL: f.ttl, Id: f.ipID, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
			SrcIP: f.from.Addr().AsSlice(), DstIP: f.to.Addr().AsSlice()}
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		nl = &layers.IPv6{Version: 6, HopLimit: f.ttl, FlowLabel: f.flow, NextHeader: layers.IPProtocolTCP,
			SrcIP: f.from.Addr().AsSlice(), DstIP: f.to.Addr().AsSlice()}
	}
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		return nil, fmt.Errorf("building frame: %w", err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, nl, &tcp, gopacket.Payload(tcp.Payload)); err != nil {
		return nil, fmt.Errorf("building frame: %w", err)
	}
	return buf.Bytes(), nil
}

// watchLast remembers the last segment that matches keep until the
// returned function is called; that function returns it. Call it (defer
// it) before the tap's socket is closed; later calls return the same.
func (t *tap) watchLast(keep func(segment) bool) func() segment {
	stop := make(chan struct{})
	result := make(chan segment, 1)
	go func() {
		var last segment
		for {
			select {
			case <-stop:
				result <- last
				return
			default:
			}
			if s, err := t.next(time.Now().Add(30 * time.Millisecond)); err == nil && keep(s) {
				last = s
			}
		}
	}()
	var once sync.Once
	var last segment
	return func() segment {
		once.Do(func() {
			close(stop)
			last = <-result
		})
		return last
	}
}
