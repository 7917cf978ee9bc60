package packet

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

var (
	macA = [6]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	macB = [6]byte{0x00, 0x66, 0x77, 0x88, 0x99, 0xaa}
	// macInA and macInB are the MACs of the Ethernet frames inside tunnels.
	macInA = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	macInB = [6]byte{0x02, 0, 0, 0, 0, 0x02}
	v4a    = netip.MustParseAddr("10.0.0.1")
	v4b    = netip.MustParseAddr("10.0.0.2")
	v6a    = netip.MustParseAddr("2001:db8::1")
	v6b    = netip.MustParseAddr("2001:db8::2")

	// synOpts are the options of the test SYNs: mss 1460, sackOK, TS val 100 ecr 0, nop, wscale 7.
	synOpts = Options{MSS: 1460, WScale: 7, HasMSS: true, HasWScale: true, SACKPerm: true, HasTS: true, TSVal: 100, Len: 20}
)

// rst4 is the IPv4 RST+ACK most test frames carry.
func rst4(p Packet) Packet {
	p.IPVersion, p.IPLen, p.Src, p.Dst, p.TTL, p.IPID, p.DF = 4, 40, v4a, v4b, 64, 0x1234, true
	p.SrcPort, p.DstPort, p.Seq, p.Ack, p.Flags = 40000, 80, 1001, 2001, RST|ACK
	return p
}

// rst6 is the IPv6 RST most IPv6 test frames carry.
func rst6(p Packet) Packet {
	p.IPVersion, p.IPLen, p.Src, p.Dst, p.TTL = 6, 60, v6a, v6b, 64
	p.SrcPort, p.DstPort, p.Seq, p.Ack, p.Flags = 40000, 443, 7, 9, RST
	return p
}

// eth is the outer Ethernet header's addresses.
func eth(p Packet) Packet {
	p.HasMAC, p.SrcMAC, p.DstMAC = true, macA, macB
	return p
}

// patch returns a copy of b with bytes at off replaced.
func patch(b []byte, off int, with ...byte) []byte {
	c := bytes.Clone(b)
	copy(c[off:], with)
	return c
}

// nestIPIP wraps the raw IPv4 packet in n more IPv4 headers (protocol 4).
func nestIPIP(inner []byte, n int) []byte {
	b := inner
	for range n {
		h := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 4, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
		l := len(h) + len(b)
		h[2], h[3] = byte(l>>8), byte(l)
		b = append(h, b...)
	}
	return b
}

// llcSNAP frames a raw IPv4 packet as 802.3 with an LLC/SNAP header:
// 00:11:22:33:44:55 > 00:66:77:88:99:aa, 802.3, length 48: LLC, dsap SNAP (0xaa) Individual, ssap SNAP (0xaa) Command, ctrl 0x03: oui Ethernet (0x000000), ethertype IPv4 (0x0800), length 40: 10.0.0.1.40000 > 10.0.0.2.80: Flags [R.], seq 1001, ack 2001, win 0, length 0
func llcSNAP(ip []byte) []byte {
	n := 8 + len(ip)
	b := []byte{0x00, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, byte(n >> 8), byte(n),
		0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00}
	return append(b, ip...)
}

// fddi frames a raw IPv4 packet as FDDI: frame control, destination, source, LLC/SNAP.
// async0 00:11:22:33:44:55 > 00:66:77:88:99:aa, length 61: LLC, dsap SNAP (0xaa) Individual, ssap SNAP (0xaa) Command, ctrl 0x03: oui Ethernet (0x000000), ethertype IPv4 (0x0800), length 40: 10.0.0.1.40000 > 10.0.0.2.80: Flags [R.], seq 1001, ack 2001, win 0, length 0
func fddi(ip []byte) []byte {
	b := []byte{0x50, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
		0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00}
	return append(b, ip...)
}

type decodeTest struct {
	name    string
	link    LinkType
	data    []byte
	want    Packet
	payload string
	err     error
}

func decodeTests() []decodeTest {
	ethIPv4Data := eth(Packet{Link: LinkEthernet, IPVersion: 4, IPLen: 79, Src: v4a, Dst: v4b, TTL: 64, IPID: 0x1234, DF: true,
		SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 2001, Flags: PSH | ACK, Window: 502,
		Opt: Options{HasTS: true, TSVal: 101, TSEcr: 256, Len: 12}, PayloadLen: 27})
	truncData := ethIPv4Data
	truncData.Truncated = true
	truncOpts := truncData
	truncOpts.Opt = Options{Len: 12}
	raw := testPacketRaw101IPv4
	return []decodeTest{
		{name: "ethernet IPv4 SYN with options", link: LinkEthernet, data: testPacketEthIPv4SYN,
			want: eth(Packet{Link: LinkEthernet, IPVersion: 4, IPLen: 60, Src: v4a, Dst: v4b, TTL: 64, IPID: 0x1234, DF: true,
				SrcPort: 40000, DstPort: 80, Seq: 1000, Flags: SYN, Window: 64240, Opt: synOpts})},
		{name: "ethernet padding is not payload", link: LinkEthernet, data: testPacketEthIPv4RSTPadded, want: rst4(eth(Packet{Link: LinkEthernet}))},
		{name: "ethernet IPv4 data", link: LinkEthernet, data: testPacketEthIPv4Data, want: ethIPv4Data, payload: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "802.1Q", link: LinkEthernet, data: testPacketDot1Q, want: rst4(eth(Packet{Link: LinkEthernet, VLANs: 1, VLAN: 100}))},
		{name: "802.1ad QinQ keeps the outer VLAN", link: LinkEthernet, data: testPacketQinQ, want: rst6(eth(Packet{Link: LinkEthernet, VLANs: 2, VLAN: 200}))},
		{name: "802.3 with LLC/SNAP", link: LinkEthernet, data: llcSNAP(testPacketRaw101IPv4), want: rst4(eth(Packet{Link: LinkEthernet}))},
		{name: "802.3 LLC without SNAP", link: LinkEthernet, data: patch(llcSNAP(testPacketRaw101IPv4), 14, 0x42, 0x42), err: ErrNotTCP},
		{name: "FDDI with LLC/SNAP", link: LinkFDDI, data: fddi(testPacketRaw101IPv4), want: rst4(eth(Packet{Link: LinkFDDI}))},
		{name: "cut in FDDI LLC", link: LinkFDDI, data: fddi(testPacketRaw101IPv4)[:18], err: ErrTruncated},
		{name: "Linux SLL", link: LinkSLL, data: testPacketSLL, want: rst4(Packet{Link: LinkSLL, HasMAC: true, SrcMAC: macA})},
		{name: "Linux SLL2", link: LinkSLL2, data: testPacketSLL2,
			want: Packet{Link: LinkSLL2, HasMAC: true, SrcMAC: macA, IPVersion: 6, IPLen: 80, Src: v6b, Dst: v6a, TTL: 64,
				SrcPort: 443, DstPort: 40000, Seq: 5000, Ack: 1001, Flags: SYN | ACK, Window: 65535, Opt: synOpts}},
		{name: "raw IPv4 (LINKTYPE_RAW 101)", link: LinkRaw, data: testPacketRaw101IPv4, want: rst4(Packet{Link: LinkRaw})},
		{name: "raw IPv6 (DLT_RAW 12)", link: LinkDLTRaw12, data: testPacketDLTRaw12IPv6, want: rst6(Packet{Link: LinkDLTRaw12})},
		{name: "raw IPv6 (DLT_RAW 14)", link: LinkDLTRaw14, data: testPacketDLTRaw12IPv6, want: rst6(Packet{Link: LinkDLTRaw14})},
		{name: "LINKTYPE_IPV4", link: LinkIPv4, data: testPacketRaw101IPv4, want: rst4(Packet{Link: LinkIPv4})},
		{name: "LINKTYPE_IPV6", link: LinkIPv6, data: testPacketDLTRaw12IPv6, want: rst6(Packet{Link: LinkIPv6})},
		{name: "BSD null little-endian AF_INET", link: LinkNull, data: testPacketNullLE, want: rst4(Packet{Link: LinkNull})},
		{name: "BSD null big-endian AF_INET6 (Darwin 30)", link: LinkNull, data: testPacketNullBEIPv6, want: rst6(Packet{Link: LinkNull})},
		{name: "BSD null AF_INET6 Linux 10", link: LinkNull, data: patch(testPacketNullBEIPv6, 0, 10, 0, 0, 0), want: rst6(Packet{Link: LinkNull})},
		{name: "BSD null unknown family", link: LinkNull, data: patch(testPacketNullLE, 0, 7, 0, 0, 0), err: ErrNotTCP},
		{name: "OpenBSD loop", link: LinkLoop, data: testPacketLoop, want: rst4(Packet{Link: LinkLoop})},
		{name: "IPv4 with options", link: LinkEthernet, data: testPacketIPv4Options, want: func() Packet {
			p := rst4(eth(Packet{Link: LinkEthernet}))
			p.IPLen = 44
			return p
		}()},
		{name: "IPv6 hop-by-hop, routing, fragment, destination", link: LinkEthernet, data: testPacketIPv6ExtHeaders, want: func() Packet {
			p := rst6(eth(Packet{Link: LinkEthernet}))
			p.IPLen, p.Fragmented, p.IPID = 108, true, 0xbeef
			return p
		}()},
		{name: "IPv6 non-first fragment", link: LinkEthernet, data: testPacketIPv6LaterFragment, err: ErrFragment},
		{name: "IPv4 first fragment", link: LinkEthernet, data: testPacketIPv4FirstFragment,
			want: eth(Packet{Link: LinkEthernet, IPVersion: 4, IPLen: 60, Src: v4a, Dst: v4b, TTL: 64, IPID: 0x4242, Fragmented: true,
				SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 2001, Flags: PSH | ACK, Window: 502,
				Opt: Options{HasTS: true, TSVal: 101, TSEcr: 256, Len: 12}, PayloadLen: 8}), payload: "GET / HT"},
		{name: "IPv4 non-first fragment", link: LinkEthernet, data: testPacketIPv4LaterFragment, err: ErrFragment},
		// RFC 1858's tiny fragment: 8 bytes of TCP header, the rest elsewhere.
		{name: "IPv4 first fragment without the whole TCP header", link: LinkRaw, data: patch(raw[:28], 2, 0, 28, 0x12, 0x34, 0x20, 0x00), err: ErrFragment},
		{name: "IPsec ESP", link: LinkRaw, data: patch(raw, 9, 50), err: ErrTunnel},
		{name: "IPv4 total length 0 (TSO)", link: LinkRaw, data: patch(raw, 2, 0, 0), want: rst4(Packet{Link: LinkRaw})},

		// Snaplen cuts: use what is there; headers cut short are an error.
		{name: "cut in payload", link: LinkEthernet, data: testPacketEthIPv4Data[:74], want: truncData, payload: "GET / HT"},
		{name: "cut in TCP options", link: LinkEthernet, data: testPacketEthIPv4Data[:58], want: truncOpts},
		{name: "cut in TCP header", link: LinkEthernet, data: testPacketEthIPv4Data[:44], err: ErrTruncated},
		{name: "cut in IPv4 header", link: LinkEthernet, data: testPacketEthIPv4Data[:24], err: ErrTruncated},
		{name: "cut in IPv4 options", link: LinkRaw, data: testPacketIPv4Options[14:36], err: ErrTruncated},
		{name: "cut in Ethernet header", link: LinkEthernet, data: testPacketEthIPv4Data[:10], err: ErrTruncated},
		{name: "cut in VLAN tag", link: LinkEthernet, data: testPacketDot1Q[:16], err: ErrTruncated},
		{name: "cut in IPv6 header", link: LinkEthernet, data: testPacketQinQ[:40], err: ErrTruncated},
		{name: "cut in IPv6 extension header", link: LinkEthernet, data: testPacketIPv6ExtHeaders[:70], err: ErrTruncated},
		{name: "cut in SLL header", link: LinkSLL, data: testPacketSLL[:15], err: ErrTruncated},
		{name: "cut in SLL2 header", link: LinkSLL2, data: testPacketSLL2[:19], err: ErrTruncated},
		{name: "cut in null header", link: LinkNull, data: testPacketNullLE[:3], err: ErrTruncated},
		{name: "empty frame", link: LinkEthernet, data: nil, err: ErrTruncated},
		{name: "empty raw frame", link: LinkRaw, data: []byte{}, err: ErrTruncated},

		// Damage.
		{name: "IPv4 header length below 20", link: LinkRaw, data: patch(raw, 0, 0x44), err: ErrMalformed},
		{name: "IPv4 total length below header", link: LinkRaw, data: patch(raw, 2, 0, 10), err: ErrMalformed},
		{name: "IPv6 ethertype with IPv4 inside", link: LinkEthernet, data: patch(testPacketDot1Q, 16, 0x86, 0xdd), err: ErrMalformed},
		{name: "TCP data offset below 5", link: LinkRaw, data: patch(raw, 32, 0x40), err: ErrMalformed},
		{name: "TCP data offset past the datagram", link: LinkRaw, data: patch(raw, 32, 0xf0), err: ErrMalformed},

		// TCP options.
		{name: "malformed options are skipped as Linux does", link: LinkRaw, data: testPacketTCPBadOptions,
			want: Packet{Link: LinkRaw, IPVersion: 4, IPLen: 52, Src: v4a, Dst: v4b, TTL: 64, IPID: 0x1234, DF: true,
				SrcPort: 40000, DstPort: 80, Seq: 1000, Flags: SYN, Window: 64240, Opt: Options{Len: 12}}},
		{name: "option length 0 stops parsing", link: LinkEthernet, data: patch(testPacketEthIPv4SYN, 54, 2, 0),
			want: eth(Packet{Link: LinkEthernet, IPVersion: 4, IPLen: 60, Src: v4a, Dst: v4b, TTL: 64, IPID: 0x1234, DF: true,
				SrcPort: 40000, DstPort: 80, Seq: 1000, Flags: SYN, Window: 64240, Opt: Options{Len: 20}})},
		{name: "option running past the header stops parsing", link: LinkEthernet, data: patch(testPacketEthIPv4SYN, 71, 3, 9),
			want: eth(Packet{Link: LinkEthernet, IPVersion: 4, IPLen: 60, Src: v4a, Dst: v4b, TTL: 64, IPID: 0x1234, DF: true,
				SrcPort: 40000, DstPort: 80, Seq: 1000, Flags: SYN, Window: 64240,
				Opt: Options{MSS: 1460, HasMSS: true, SACKPerm: true, HasTS: true, TSVal: 100, Len: 20}})},
		{name: "SACK blocks", link: LinkEthernet, data: patch(testPacketEthIPv4Data, 54, 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2),
			want: eth(Packet{Link: LinkEthernet, IPVersion: 4, IPLen: 79, Src: v4a, Dst: v4b, TTL: 64, IPID: 0x1234, DF: true,
				SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 2001, Flags: PSH | ACK, Window: 502,
				Opt: Options{HasSACK: true, Len: 12}, PayloadLen: 27}), payload: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "NS flag", link: LinkRaw, data: patch(raw, 32, 0x51), want: func() Packet {
			p := rst4(Packet{Link: LinkRaw})
			p.Flags |= NS
			return p
		}()},

		// Tunnels.
		{name: "GRE", link: LinkEthernet, data: testPacketGRE, want: rst4(eth(Packet{Link: LinkEthernet, Tunnels: 1}))},
		{name: "GRE with key and sequence", link: LinkEthernet, data: testPacketGREKeySeq, want: rst4(eth(Packet{Link: LinkEthernet, Tunnels: 1}))},
		{name: "GRE transparent Ethernet bridging takes the inner MACs", link: LinkEthernet, data: testPacketGRETEB,
			want: rst4(Packet{Link: LinkEthernet, Tunnels: 1, HasMAC: true, SrcMAC: macInA, DstMAC: macInB})},
		{name: "IP in IP", link: LinkEthernet, data: testPacketIPIP, want: rst4(eth(Packet{Link: LinkEthernet, Tunnels: 1}))},
		{name: "6in4", link: LinkEthernet, data: testPacketSixInFour, want: rst6(eth(Packet{Link: LinkEthernet, Tunnels: 1}))},
		{name: "Teredo with origin indication", link: LinkEthernet, data: testPacketTeredo, want: func() Packet {
			p := rst6(eth(Packet{Link: LinkEthernet, Tunnels: 1}))
			p.TTL = 21
			return p
		}()},
		{name: "VXLAN takes the inner MACs", link: LinkEthernet, data: testPacketVXLAN,
			want: rst4(Packet{Link: LinkEthernet, Tunnels: 1, HasMAC: true, SrcMAC: macInA, DstMAC: macInB})},
		{name: "GTP-U G-PDU", link: LinkEthernet, data: testPacketGTPU, want: rst4(eth(Packet{Link: LinkEthernet, Tunnels: 1}))},
		{name: "GTP-U with a PDU session container", link: LinkEthernet, data: testPacketGTPUExt, want: rst6(eth(Packet{Link: LinkEthernet, Tunnels: 1}))},
		{name: "GTP-U echo request", link: LinkEthernet, data: testPacketGTPEcho, err: ErrNotTCP},
		{name: "GTP-U cut in its extension header", link: LinkEthernet, data: testPacketGTPUExt[:56], err: ErrTruncated},
		{name: "MPLS", link: LinkEthernet, data: testPacketMPLS, want: rst4(eth(Packet{Link: LinkEthernet}))},
		{name: "PPPoE", link: LinkEthernet, data: testPacketPPPoE, want: rst6(eth(Packet{Link: LinkEthernet}))},
		{name: "IP in IP three deep", link: LinkRaw, data: nestIPIP(raw, 3), want: rst4(Packet{Link: LinkRaw, Tunnels: 3})},
		{name: "IP in IP, outer first fragment", link: LinkRaw, data: patch(nestIPIP(raw, 1), 6, 0x20, 0x00), want: func() Packet {
			p := rst4(Packet{Link: LinkRaw, Tunnels: 1})
			p.Fragmented = true
			return p
		}()},
		{name: "IP in IP too deep", link: LinkRaw, data: nestIPIP(raw, 4), err: ErrTooManyLayers},
		{name: "GRE cut in its header", link: LinkEthernet, data: testPacketGREKeySeq[:44], err: ErrTruncated},

		// Not TCP.
		{name: "ARP", link: LinkEthernet, data: testPacketARP, err: ErrNotTCP},
		{name: "UDP", link: LinkEthernet, data: testPacketDNS, err: ErrNotTCP},
		{name: "unknown link type", link: 147, data: testPacketRaw101IPv4, err: ErrUnknownLink},
	}
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeTests() {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			err := p.Decode(tt.data, tt.link)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Decode() error = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if got := string(p.Payload); got != tt.payload {
				t.Errorf("Payload = %q, want %q", got, tt.payload)
			}
			// A fragment captured whole hands its IP datagram to a
			// Reassembler: the frame from its (outermost) IP header on.
			if p.Fragmented {
				ip := tt.data
				if tt.link == LinkEthernet {
					ip = ip[14:]
				}
				if string(p.FragDatagram) != string(ip) {
					t.Errorf("FragDatagram = % x, want the frame's IP datagram % x", p.FragDatagram, ip)
				}
			} else if p.FragDatagram != nil {
				t.Errorf("FragDatagram set on a packet that is not a fragment")
			}
			got := p
			got.Payload, got.FragDatagram = nil, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode() =\n%+v\nwant\n%+v", got, tt.want)
			}
			if p.PayloadLen < len(p.Payload) {
				t.Errorf("PayloadLen %d < len(Payload) %d", p.PayloadLen, len(p.Payload))
			}
		})
	}
}

// TestDecodeReuse checks that a Packet reused for a second frame keeps
// nothing from the first (VLAN, tunnels, options, fragment bit).
func TestDecodeReuse(t *testing.T) {
	var p Packet
	if err := p.Decode(testPacketIPv6ExtHeaders, LinkEthernet); err != nil {
		t.Fatal(err)
	}
	if err := p.Decode(testPacketQinQ, LinkEthernet); err != nil {
		t.Fatal(err)
	}
	if err := p.Decode(testPacketRaw101IPv4, LinkRaw); err != nil {
		t.Fatal(err)
	}
	got := p
	got.Payload = nil
	if want := rst4(Packet{Link: LinkRaw}); !reflect.DeepEqual(got, want) {
		t.Errorf("after reuse got\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeAllocs(t *testing.T) {
	for _, tt := range decodeTests() {
		var p Packet
		n := testing.AllocsPerRun(100, func() { _ = p.Decode(tt.data, tt.link) })
		if n != 0 {
			t.Errorf("%s: Decode allocates %v times per frame, want 0", tt.name, n)
		}
	}
}

// TestDecodeFragProto: a fragment that cannot be decoded says which
// protocol its datagram carries, so TCP left unreassembled can be counted.
func TestDecodeFragProto(t *testing.T) {
	for _, tt := range []struct {
		name string
		link LinkType
		data []byte
	}{
		{"IPv4 non-first", LinkEthernet, testPacketIPv4LaterFragment},
		{"IPv6 non-first", LinkEthernet, testPacketIPv6LaterFragment},
		{"IPv4 tiny first", LinkRaw, patch(testPacketRaw101IPv4[:28], 2, 0, 28, 0x12, 0x34, 0x20, 0x00)},
	} {
		var p Packet
		if err := p.Decode(tt.data, tt.link); !errors.Is(err, ErrFragment) || p.FragProto != 6 {
			t.Errorf("%s: got %v and protocol %d, want ErrFragment and 6 (TCP)", tt.name, err, p.FragProto)
		}
	}
}

func TestFlagsString(t *testing.T) {
	for _, tt := range []struct {
		f    Flags
		want string
	}{{0, "."}, {SYN, "S"}, {RST | ACK, "RA"}, {FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | NS, "FSRPAUECN"}} {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint16(tt.f), got, tt.want)
		}
	}
}

func TestLinkTypeSupported(t *testing.T) {
	for _, lt := range []LinkType{LinkNull, LinkEthernet, LinkFDDI, LinkRaw, LinkDLTRaw12, LinkDLTRaw14, LinkLoop, LinkSLL, LinkIPv4, LinkIPv6, LinkSLL2} {
		if !lt.Supported() {
			t.Errorf("LinkType(%d).Supported() = false, want true", lt)
		}
	}
	if LinkType(147).Supported() {
		t.Error("LinkType(147).Supported() = true, want false")
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bb := range []struct {
		name string
		link LinkType
		data []byte
	}{
		{"ethernet-syn", LinkEthernet, testPacketEthIPv4SYN},
		{"ethernet-data", LinkEthernet, testPacketEthIPv4Data},
		{"qinq-ipv6", LinkEthernet, testPacketQinQ},
		{"ipv6-ext", LinkEthernet, testPacketIPv6ExtHeaders},
		{"sll2", LinkSLL2, testPacketSLL2},
		{"vxlan", LinkEthernet, testPacketVXLAN},
		{"gtpu", LinkEthernet, testPacketGTPUExt},
		{"arp", LinkEthernet, testPacketARP},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.data)))
			for b.Loop() {
				_ = p.Decode(bb.data, bb.link)
			}
		})
	}
}
