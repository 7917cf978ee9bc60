package diagnose

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/packet"
)

// synthFrame builds an Ethernet/IPv4/TCP frame (no options) into buf.
func synthFrame(buf []byte, src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags packet.Flags, payload int) []byte {
	n := 14 + 20 + 20 + payload
	b := buf[:n]
	clear(b)
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+payload))
	ip[6] = 0x40
	ip[8] = 64
	ip[9] = 6
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 5 << 4
	tcp[13] = byte(flags)
	binary.BigEndian.PutUint16(tcp[14:], 1000)
	return b
}

// synthTraffic returns frames of short connections: handshake, a request,
// a response, then a FIN close, or every tenth a reset.
func synthTraffic(conns int) [][]byte {
	var frames [][]byte
	cli, srv := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	for i := 0; i < conns; i++ {
		sp := uint16(10000 + i%50000)
		cli[2] = byte(i / 50000)
		c, s := uint32(1000*i), uint32(7000*i)
		mk := func(fromCli bool, seq, ack uint32, f packet.Flags, n int) {
			buf := make([]byte, 14+40+n)
			if fromCli {
				frames = append(frames, synthFrame(buf, cli, srv, sp, 80, seq, ack, f, n))
			} else {
				frames = append(frames, synthFrame(buf, srv, cli, 80, sp, seq, ack, f, n))
			}
		}
		mk(true, c, 0, packet.SYN, 0)
		mk(false, s, c+1, packet.SYN|packet.ACK, 0)
		mk(true, c+1, s+1, packet.ACK, 0)
		mk(true, c+1, s+1, packet.PSH|packet.ACK, 100)
		mk(false, s+1, c+101, packet.PSH|packet.ACK, 500)
		if i%10 == 0 {
			mk(true, c+101, s+501, packet.RST|packet.ACK, 0)
			continue
		}
		mk(true, c+101, s+501, packet.FIN|packet.ACK, 0)
		mk(false, s+501, c+102, packet.FIN|packet.ACK, 0)
		mk(true, c+102, s+502, packet.ACK, 0)
	}
	return frames
}

func benchmarkAnalyzer(b *testing.B, classify bool) {
	frames := synthTraffic(20000)
	b.ReportAllocs()
	b.ResetTimer()
	pkts := 0
	for i := 0; i < b.N; i++ {
		opts := DefaultOptions
		opts.NoClassify = !classify
		a := New("bench", opts)
		t := time.Unix(1e9, 0)
		for j, f := range frames {
			a.Packet(f, capture.Info{Time: t.Add(time.Duration(j) * 100 * time.Microsecond), Frame: uint64(j + 1), CaptureLen: len(f), WireLen: len(f), Link: packet.LinkEthernet})
		}
		a.Finish()
		pkts += len(frames)
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkAnalyzer measures decode, tracking and classification on
// synthetic short connections (8 packets each, one in ten reset, a packet
// every 100 µs so closed connections expire and recycle), in memory.
func BenchmarkAnalyzer(b *testing.B) { benchmarkAnalyzer(b, true) }

// BenchmarkAnalyzerNoClassify is the same traffic without classification.
func BenchmarkAnalyzerNoClassify(b *testing.B) { benchmarkAnalyzer(b, false) }
