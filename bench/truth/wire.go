package truth

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/packet"
)

// WireReset is one RST packet in the capture, read with the project's own
// reader and decoder but none of its tracking or rules.
type WireReset struct {
	Frame    uint64
	Time     time.Time
	Src, Dst netip.AddrPort
	Flags    packet.Flags
	Seq, Ack uint32
	// Answered is the last segment the resetter had sent to it before the
	// reset (the other direction on the same 4-tuple): "SYN", "SYN-ACK",
	// "FIN", "data", "ACK", "RST" or "none".
	Answered string
}

type dirKey struct{ src, dst netip.AddrPort }

// ReadWireResets returns every RST packet of a capture, in file order.
func ReadWireResets(name string) ([]WireReset, error) {
	r, err := capture.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	last := map[dirKey]string{}
	var out []WireReset
	var p packet.Packet
	for {
		data, info, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("reading %s: %w", name, err)
		}
		if p.Decode(data, info.Link) != nil {
			continue
		}
		src := netip.AddrPortFrom(p.Src.Unmap(), p.SrcPort)
		dst := netip.AddrPortFrom(p.Dst.Unmap(), p.DstPort)
		if p.Flags.Has(packet.RST) {
			ans, ok := last[dirKey{dst, src}]
			if !ok {
				ans = "none"
			}
			out = append(out, WireReset{Frame: info.Frame, Time: info.Time, Src: src, Dst: dst, Flags: p.Flags, Seq: p.Seq, Ack: p.Ack, Answered: ans})
			last[dirKey{src, dst}] = "RST"
			continue
		}
		last[dirKey{src, dst}] = segmentKind(&p)
	}
}

func segmentKind(p *packet.Packet) string {
	switch {
	case p.Flags.Has(packet.SYN | packet.ACK):
		return "SYN-ACK"
	case p.Flags.Has(packet.SYN):
		return "SYN"
	case p.Flags.Has(packet.FIN):
		return "FIN"
	case p.PayloadLen > 0:
		return "data"
	default:
		return "ACK"
	}
}
