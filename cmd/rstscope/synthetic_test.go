package main

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// synthKinds are the reset patterns of the synthetic capture, and how many
// of each it holds: a port scan of one host answered by RST+ACK on every
// port, one closed port hit again and again, clients aborting established
// connections, and a listener resetting connections right after the
// handshake. 10,100 resets in all.
var synthKinds = []struct {
	name string
	n    int
}{
	{"scan", 6000},  // SYN to 10.2.0.2:1000+i, answered RST+ACK (closed-port)
	{"ssh", 1500},   // SYN to 10.2.0.3:22, answered RST+ACK (closed-port)
	{"abort", 2000}, // handshake, request, response acknowledged, then the client's RST (10.2.0.4:443)
	{"accept", 600}, // handshake, then the server's RST, window 0 (10.2.0.5:8080)
}

// synthResets is the number of RST packets writeSynthetic writes.
func synthResets() int {
	n := 0
	for _, k := range synthKinds {
		n += k.n
	}
	return n
}

// synthWriter writes Ethernet/IPv4/TCP frames into a pcap.
type synthWriter struct {
	t    testing.TB
	w    *pcapgo.Writer
	now  time.Time
	ipID map[string]uint16
}

type synthSeg struct {
	src, dst          string
	sport, dport      uint16
	seq, ack          uint32
	syn, ackf, rst    bool
	psh, fin          bool
	window            uint16
	payload           int
	ttl               uint8
	noOptions, zeroID bool
}

func (s *synthWriter) write(g synthSeg) {
	s.t.Helper()
	mac := func(ip string) net.HardwareAddr {
		p := net.ParseIP(ip).To4()
		return net.HardwareAddr{0x02, 0, p[0], p[1], p[2], p[3]}
	}
	id := s.ipID[g.src] + 1
	s.ipID[g.src] = id
	if g.zeroID {
		id = 0
	}
	eth := &layers.Ethernet{SrcMAC: mac(g.src), DstMAC: mac(g.dst), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: g.ttl, Id: id, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
		SrcIP: net.ParseIP(g.src).To4(), DstIP: net.ParseIP(g.dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(g.sport), DstPort: layers.TCPPort(g.dport), Seq: g.seq, Ack: g.ack,
		SYN: g.syn, ACK: g.ackf, RST: g.rst, PSH: g.psh, FIN: g.fin, Window: g.window}
	if g.syn {
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(make([]byte, g.payload))); err != nil {
		s.t.Fatal(err)
	}
	s.now = s.now.Add(100 * time.Microsecond)
	b := buf.Bytes()
	if err := s.w.WritePacket(gopacket.CaptureInfo{Timestamp: s.now, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		s.t.Fatal(err)
	}
}

// writeSynthetic writes the synthetic capture into dir and returns its path.
// Every connection has its own client address and port, so none is reused;
// client packets have TTL 64 and server packets 63 (a router between).
func writeSynthetic(t testing.TB, dir string) string {
	t.Helper()
	path := dir + "/synthetic.pcap"
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pw := pcapgo.NewWriter(f)
	if err := pw.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	s := &synthWriter{t: t, w: pw, now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), ipID: map[string]uint16{}}
	left := make([]int, len(synthKinds))
	for i, k := range synthKinds {
		left[i] = k.n
	}
	// Interleave the kinds so each spans the capture, one connection every 2 ms.
	for conn := 0; ; conn++ {
		done := true
		for ki := range synthKinds {
			if left[ki] == 0 {
				continue
			}
			done = false
			i := synthKinds[ki].n - left[ki]
			left[ki]--
			client := []string{"10.1.", "10.3.", "10.5.", "10.7."}[ki] + itoa(i/250) + "." + itoa(1+i%250)
			sport := uint16(20000 + i%40000)
			cisn, sisn := uint32(1000+i*7919), uint32(5000+i*104729)
			switch synthKinds[ki].name {
			case "scan", "ssh":
				server, dport := "10.2.0.2", uint16(1000+i)
				if synthKinds[ki].name == "ssh" {
					server, dport = "10.2.0.3", 22
				}
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn, syn: true, window: 64240, ttl: 64})
				s.write(synthSeg{src: server, dst: client, sport: dport, dport: sport, ack: cisn + 1, rst: true, ackf: true, ttl: 63, zeroID: true})
			case "abort":
				server, dport := "10.2.0.4", uint16(443)
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn, syn: true, window: 64240, ttl: 64})
				s.write(synthSeg{src: server, dst: client, sport: dport, dport: sport, seq: sisn, ack: cisn + 1, syn: true, ackf: true, window: 65160, ttl: 63})
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn + 1, ack: sisn + 1, ackf: true, window: 502, ttl: 64})
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn + 1, ack: sisn + 1, ackf: true, psh: true, window: 502, payload: 200, ttl: 64})
				s.write(synthSeg{src: server, dst: client, sport: dport, dport: sport, seq: sisn + 1, ack: cisn + 201, ackf: true, psh: true, window: 509, payload: 1000, ttl: 63})
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn + 201, ack: sisn + 1001, ackf: true, window: 502, ttl: 64})
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn + 201, ack: sisn + 1001, rst: true, ackf: true, window: 502, ttl: 64})
			case "accept":
				server, dport := "10.2.0.5", uint16(8080)
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn, syn: true, window: 64240, ttl: 64})
				s.write(synthSeg{src: server, dst: client, sport: dport, dport: sport, seq: sisn, ack: cisn + 1, syn: true, ackf: true, window: 65160, ttl: 63})
				s.write(synthSeg{src: client, dst: server, sport: sport, dport: dport, seq: cisn + 1, ack: sisn + 1, ackf: true, window: 502, ttl: 64})
				s.write(synthSeg{src: server, dst: client, sport: dport, dport: sport, seq: sisn + 1, rst: true, ttl: 63, zeroID: true})
			}
		}
		if done {
			break
		}
		s.now = s.now.Add(2 * time.Millisecond)
	}
	return path
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
