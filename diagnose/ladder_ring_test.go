package diagnose

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/report"
)

// TestLadderRing: a connection of 1,000 data segments, a reset, then 20
// more segments. The ladder keeps the last LadderBefore packets before the
// reset, in order, counts the rest, and stops after the look-ahead.
func TestLadderRing(t *testing.T) {
	name := filepath.Join(t.TempDir(), "long.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cli, srv := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	ts := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	write := func(fromClient bool, tcp *layers.TCP, payload int) {
		src, dst := cli, srv
		tcp.SrcPort, tcp.DstPort = 40000, 80
		if !fromClient {
			src, dst = srv, cli
			tcp.SrcPort, tcp.DstPort = 80, 40000
		}
		tcp.Window = 502
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, src[3]}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, dst[3]}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, payload))); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	write(true, &layers.TCP{SYN: true, Seq: 100}, 0)
	write(false, &layers.TCP{SYN: true, ACK: true, Seq: 900, Ack: 101}, 0)
	write(true, &layers.TCP{ACK: true, Seq: 101, Ack: 901}, 0)
	seq := uint32(101)
	for range 1000 {
		write(true, &layers.TCP{ACK: true, PSH: true, Seq: seq, Ack: 901}, 10)
		seq += 10
	}
	write(false, &layers.TCP{RST: true, Seq: 901}, 0) // frame 1004
	for range 20 {
		write(true, &layers.TCP{ACK: true, PSH: true, Seq: seq, Ack: 901}, 10)
		seq += 10
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	rep := &report.Report{Findings: []report.Finding{{File: name, Frame: 1004, Client: "10.0.0.1:40000", Server: "10.0.0.2:80"}}}
	rep.Summary.Files = []report.FileStats{{File: name}}
	ls := LaddersOf(rep, allResets(rep), DefaultOptions)
	l := ls.Of(&rep.Findings[0])
	if l == nil {
		t.Fatalf("no ladder; notes %v", ls.Notes)
	}
	if l.Earlier != 1003-LadderBefore {
		t.Errorf("earlier %d, want %d", l.Earlier, 1003-LadderBefore)
	}
	want := LadderBefore + 1 + DefaultOptions.LookAheadPackets
	if len(l.Packets) != want {
		t.Fatalf("got %d packets, want %d", len(l.Packets), want)
	}
	for i, p := range l.Packets {
		if fr := uint64(1004 - LadderBefore + i); p.Frame != fr {
			t.Errorf("packet %d is frame %d, want %d", i, p.Frame, fr)
		}
		if p.Reset != (p.Frame == 1004) || p.After != (p.Frame > 1004) {
			t.Errorf("frame %d: reset %v after %v", p.Frame, p.Reset, p.After)
		}
	}
	// Relative numbers: the client's last segment before the reset starts
	// at byte 1 + 999*10 of its stream.
	if p := l.Packets[LadderBefore-1]; p.Seq != 1+999*10 || p.Ack != 1 || p.Len != 10 {
		t.Errorf("last segment before the reset: seq %d ack %d len %d", p.Seq, p.Ack, p.Len)
	}
	if sp := ls.Spans[name]; sp.Last.Sub(sp.First) != 1023*time.Millisecond {
		t.Errorf("span %v", sp.Last.Sub(sp.First))
	}
}
