// Command synflood writes a pcap of a SYN flood against one server, to
// measure what a flood costs rstscope analyze (bench/run.sh flood).
//
//	synflood -o bench/out/synflood.pcap -n 10000000 -rate 200000
//
// It writes n SYNs from random IPv4 sources and ports to 10.99.0.1:80, rate
// per second of capture time. Of them, -rst (default 0.10) are answered by a
// RST+ACK with seq 0 and ack SYN.seq+1, as a port with no listener answers
// (the flood's share aimed at a closed port, 10.99.0.1:81); the rest go
// unanswered, as from a listener whose SYN queue is full. -synack (default 0)
// of the SYNs to port 80 are answered by a SYN-ACK instead, as a listener
// answering a flood with SYN cookies (it keeps no state, so it never
// retransmits), and -synack-rst of those SYN-ACKs are answered by a bare RST
// from the spoofed source (seq = the SYN-ACK's ack), as a live host that
// never sent the SYN answers. Every -real-th SYN
// (default 1000) is instead a real connection from 192.0.2.0/24: handshake,
// a request and a response, then a RST from the client, as a browser
// aborting. Frames are Ethernet, deterministic for a given -seed.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	out := flag.String("o", "bench/out/synflood.pcap", "output pcap")
	n := flag.Int("n", 10_000_000, "SYNs to write")
	rate := flag.Float64("rate", 200_000, "SYNs per second of capture time")
	rst := flag.Float64("rst", 0.10, "share of flood SYNs answered by RST+ACK")
	synack := flag.Float64("synack", 0, "share of flood SYNs to the open port answered by a SYN-ACK (a listener with SYN cookies)")
	synackRST := flag.Float64("synack-rst", 0, "share of those SYN-ACKs answered by a RST from the spoofed source")
	real := flag.Int("real", 1000, "every real-th SYN is a real connection ending in a reset (0: none)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*out, *n, *rate, *rst, *synack, *synackRST, *real, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "synflood:", err)
		os.Exit(1)
	}
}

type writer struct {
	w   *pcapgo.Writer
	buf gopacket.SerializeBuffer
	eth layers.Ethernet
	ip  layers.IPv4
	tcp layers.TCP
	id  uint16
}

var (
	clientMAC = []byte{0x02, 0, 0, 0, 0, 1}
	serverMAC = []byte{0x02, 0, 0, 0, 0, 2}
	server    = []byte{10, 99, 0, 1}
)

// seg writes one segment; payload bytes are zero, captured in full.
func (w *writer) seg(ts time.Time, src, dst []byte, sport, dport uint16, seq, ack uint32, flags string, ttl uint8, payload int, fromServer bool) error {
	w.eth = layers.Ethernet{SrcMAC: clientMAC, DstMAC: serverMAC, EthernetType: layers.EthernetTypeIPv4}
	if fromServer {
		w.eth.SrcMAC, w.eth.DstMAC = serverMAC, clientMAC
	}
	w.id++
	w.ip = layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Id: w.id, Flags: layers.IPv4DontFragment}
	w.tcp = layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 64240}
	for _, f := range flags {
		switch f {
		case 'S':
			w.tcp.SYN = true
		case 'A':
			w.tcp.ACK = true
		case 'R':
			w.tcp.RST = true
		case 'P':
			w.tcp.PSH = true
		case 'F':
			w.tcp.FIN = true
		}
	}
	if w.tcp.RST {
		w.tcp.Window = 0
		w.ip.Id, w.ip.Flags = 0, layers.IPv4DontFragment
	}
	if w.tcp.SYN {
		w.tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	w.tcp.SetNetworkLayerForChecksum(&w.ip)
	if err := w.buf.Clear(); err != nil {
		return err
	}
	if err := gopacket.SerializeLayers(w.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&w.eth, &w.ip, &w.tcp, gopacket.Payload(make([]byte, payload))); err != nil {
		return err
	}
	b := w.buf.Bytes()
	return w.w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b)
}

func run(name string, n int, rate, rstShare, synackShare, synackRSTShare float64, real int, seed uint64) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	w := &writer{w: pw, buf: gopacket.NewSerializeBuffer()}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	start := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	step := time.Duration(float64(time.Second) / rate)
	src := make([]byte, 4)
	cli := []byte{192, 0, 2, 0}
	for i := range n {
		ts := start.Add(time.Duration(i) * step)
		if real > 0 && i%real == real-1 {
			// A real connection, squeezed into the gap before the next SYN.
			cli[3] = byte(1 + (i/real)%250)
			sport := uint16(32768 + (i/real)%28000)
			isn, sisn := rng.Uint32(), rng.Uint32()
			d := step / 8
			pkts := []struct {
				seq, ack uint32
				flags    string
				payload  int
				srv      bool
			}{
				{isn, 0, "S", 0, false},
				{sisn, isn + 1, "SA", 0, true},
				{isn + 1, sisn + 1, "A", 0, false},
				{isn + 1, sisn + 1, "PA", 100, false},
				{sisn + 1, isn + 101, "PA", 300, true},
				{isn + 101, sisn + 301, "RA", 0, false},
			}
			for j, p := range pkts {
				s, dst, sp, dp, ttl := cli, server, sport, uint16(443), uint8(63)
				if p.srv {
					s, dst, sp, dp, ttl = server, cli, 443, sport, 64
				}
				if err := w.seg(ts.Add(time.Duration(j)*d), s, dst, sp, dp, p.seq, p.ack, p.flags, ttl, p.payload, p.srv); err != nil {
					return err
				}
			}
			continue
		}
		binary.BigEndian.PutUint32(src, rng.Uint32()|0x01000000)
		sport := uint16(1024 + rng.IntN(64511))
		isn := rng.Uint32()
		ttl := uint8(40 + rng.IntN(20))
		dport := uint16(80)
		answer := rng.Float64() < rstShare
		if answer {
			dport = 81
		}
		if err := w.seg(ts, src, server, sport, dport, isn, 0, "S", ttl, 0, false); err != nil {
			return err
		}
		if answer {
			if err := w.seg(ts.Add(step/2), server, src, dport, sport, 0, isn+1, "RA", 64, 0, true); err != nil {
				return err
			}
			continue
		}
		// Random numbers are drawn only when asked for, so the default
		// flood stays the same file it was before these options.
		if synackShare > 0 && rng.Float64() < synackShare {
			cookie := rng.Uint32()
			if err := w.seg(ts.Add(step/3), server, src, dport, sport, cookie, isn+1, "SA", 64, 0, true); err != nil {
				return err
			}
			if synackRSTShare > 0 && rng.Float64() < synackRSTShare {
				if err := w.seg(ts.Add(2*step/3), src, server, sport, dport, isn+1, 0, "R", ttl, 0, false); err != nil {
					return err
				}
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
