package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// BenchmarkReader reads 10,000 frames of 60 to 1514 bytes from memory, as
// pcap and as pcapng, through Reader and, for comparison, through pcapgo's
// readers alone (the difference is Reader's own work: the pcapng block
// framing check and the bookkeeping per frame).
func BenchmarkReader(b *testing.B) {
	var recs []rec
	for i := range 10000 {
		n := 60 + (i*37)%1455
		data := make([]byte, n)
		copy(data, frameEth)
		recs = append(recs, rec{t0.Add(time.Duration(i) * time.Microsecond), data, 0})
	}
	files := []struct {
		name string
		data []byte
	}{
		{"pcap", pcapFile(binary.LittleEndian, false, 1, 65535, recs)},
		{"pcapng", ngSection(b, []layers.LinkType{layers.LinkTypeEthernet}, recs)},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.data)))
			for b.Loop() {
				r, err := NewReader("bench", bytes.NewReader(f.data))
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, _, err := r.Next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/frame")
		})
	}
	b.Run("pcapng-pcapgo-alone", func(b *testing.B) {
		data := files[1].data
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
					break
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/frame")
	})
}
