package lab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Reset is one TCP segment with RST set, as read back from a lab capture.
type Reset struct {
	Frame    uint64 // 1-based
	From, To netip.AddrPort
	SrcMAC   net.HardwareAddr
	TTL      uint8 // TTL or hop limit
	IPID     uint16
	Seq, Ack uint32
	ACK      bool
}

// readResets returns every reset in a pcap file the lab wrote. Reading the
// file back, rather than trusting what was sent, is what makes the frame
// numbers in the expected verdicts right.
func readResets(path string) ([]Reset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening capture: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var out []Reset
	for frame := uint64(1); ; frame++ {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s frame %d: %w", path, frame, err)
		}
		if rst, ok := decodeReset(data); ok {
			rst.Frame = frame
			out = append(out, rst)
		}
	}
}

func decodeReset(data []byte) (Reset, bool) {
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok || !tcp.RST {
		return Reset{}, false
	}
	var r Reset
	var src, dst netip.Addr
	if eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		r.SrcMAC = eth.SrcMAC
	}
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		r.TTL, r.IPID = ip.TTL, ip.Id
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		r.TTL = ip.HopLimit
	default:
		return Reset{}, false
	}
	r.From = netip.AddrPortFrom(src, uint16(tcp.SrcPort))
	r.To = netip.AddrPortFrom(dst, uint16(tcp.DstPort))
	r.Seq, r.Ack, r.ACK = tcp.Seq, tcp.Ack, tcp.ACK
	return r, true
}
