package sighting

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/packet"
)

// TestPeekAgreesWithDecode: for every frame of the committed lab captures
// (IPv4 and IPv6, with and without NAT) that peek accepts, the fields it
// reads are the ones packet.Decode finds; a frame peek accepts but Decode
// rejects would be indexed by the short way only.
func TestPeekAgreesWithDecode(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "testdata", "lab", "*", "*.pcap"))
	if len(files) == 0 {
		t.Fatal("no lab captures")
	}
	var n, accepted int
	for _, f := range files {
		r, err := capture.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, info, err := r.Next()
			if err != nil {
				break
			}
			n++
			pk, ok := peek(data, info.Link)
			var p packet.Packet
			derr := p.Decode(data, info.Link)
			if !ok {
				continue
			}
			accepted++
			if derr != nil {
				t.Errorf("%s frame %d: peek accepted what Decode rejects: %v", f, info.Frame, derr)
				continue
			}
			var src, dst []byte
			if p.IPVersion == 4 {
				s, d := p.Src.As4(), p.Dst.As4()
				src, dst = s[:], d[:]
			} else {
				s, d := p.Src.As16(), p.Dst.As16()
				src, dst = s[:], d[:]
			}
			var ports [4]byte
			binary.BigEndian.PutUint16(ports[0:], p.SrcPort)
			binary.BigEndian.PutUint16(ports[2:], p.DstPort)
			switch {
			case !bytes.Equal(pk.addrs, append(append([]byte{}, src...), dst...)):
				t.Errorf("%s frame %d: addresses % x, Decode %v > %v", f, info.Frame, pk.addrs, p.Src, p.Dst)
			case !bytes.Equal(pk.ports, ports[:]):
				t.Errorf("%s frame %d: ports % x, Decode %d > %d", f, info.Frame, pk.ports, p.SrcPort, p.DstPort)
			case pk.ttl != p.TTL || packet.Flags(pk.flags) != p.Flags&0xff || pk.payload != p.PayloadLen:
				t.Errorf("%s frame %d: ttl %d flags %#x payload %d, Decode %d %#x %d", f, info.Frame, pk.ttl, pk.flags, pk.payload, p.TTL, p.Flags, p.PayloadLen)
			}
		}
		r.Close()
	}
	if accepted == 0 {
		t.Fatalf("peek accepted none of %d frames", n)
	}
	t.Logf("peek accepted %d of %d frames", accepted, n)
}

// TestPeekRefuses: what peek does not know goes the long way.
func TestPeekRefuses(t *testing.T) {
	eth := func(etype uint16, ip ...byte) []byte {
		b := make([]byte, 14, 14+len(ip))
		binary.BigEndian.PutUint16(b[12:], etype)
		return append(b, ip...)
	}
	v4 := func(fragOff uint16, proto byte) []byte {
		ip := make([]byte, 40)
		ip[0], ip[9] = 0x45, proto
		binary.BigEndian.PutUint16(ip[2:], 40)
		binary.BigEndian.PutUint16(ip[6:], fragOff)
		ip[20+12] = 5 << 4
		return ip
	}
	tests := []struct {
		name string
		data []byte
		link packet.LinkType
		ok   bool
	}{
		{"plain IPv4 TCP", eth(0x0800, v4(0x4000, 6)...), packet.LinkEthernet, true},
		{"VLAN tag", eth(0x8100, v4(0x4000, 6)...), packet.LinkEthernet, false},
		{"more fragments", eth(0x0800, v4(0x2000, 6)...), packet.LinkEthernet, false},
		{"fragment offset", eth(0x0800, v4(0x0010, 6)...), packet.LinkEthernet, false},
		{"UDP", eth(0x0800, v4(0x4000, 17)...), packet.LinkEthernet, false},
		{"raw IP link", v4(0x4000, 6), packet.LinkRaw, false},
		{"cut TCP header", eth(0x0800, v4(0x4000, 6)[:30]...), packet.LinkEthernet, false},
	}
	for _, tt := range tests {
		if _, ok := peek(tt.data, tt.link); ok != tt.ok {
			t.Errorf("%s: got %v, want %v", tt.name, ok, tt.ok)
		}
	}
}
