package lab

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/packet"
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

// readResets returns every reset in a pcap file the lab wrote, read with
// the same reader and decoder analyze uses. Reading the file back, rather
// than trusting what was sent, is what makes the frame numbers in the
// expected verdicts right.
func readResets(path string) ([]Reset, error) {
	r, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Reset
	var p packet.Packet
	for {
		data, info, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if p.Decode(data, info.Link) != nil || !p.Flags.Has(packet.RST) {
			continue
		}
		out = append(out, Reset{
			Frame: info.Frame, From: p.SrcAddrPort(), To: p.DstAddrPort(),
			SrcMAC: net.HardwareAddr(bytes.Clone(p.SrcMAC[:])), TTL: p.TTL, IPID: p.IPID,
			Seq: p.Seq, Ack: p.Ack, ACK: p.Flags.Has(packet.ACK),
		})
	}
}
