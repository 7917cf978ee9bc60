package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestKinds: each way of answering the flood puts the packets it says on
// the wire, counted by reading the file back with gopacket.
func TestKinds(t *testing.T) {
	const n, real = 10000, 1000
	flood := n - n/real // SYNs that are not a real connection
	for _, tt := range []struct {
		name                  string
		rst, synack, synRST   float64
		wantRA, wantSA, wantR func(int) bool // counts of flood answers
	}{
		{"unanswered", 0, 0, 0, zero, zero, zero},
		{"closed", 0.1, 0, 0, near(flood / 10), zero, zero},
		{"cookies", 0, 1, 0.5, zero, exactly(flood), near(flood / 2)},
		{"rst", 1, 0, 0, exactly(flood), zero, zero},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "f.pcap")
			if err := run(name, n, 200000, tt.rst, tt.synack, tt.synRST, real, 1); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcapgo.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			var syn, ra, sa, bare int
			src := gopacket.NewPacketSource(r, layers.LinkTypeEthernet)
			for p := range src.Packets() {
				tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if tcp == nil || ip == nil || ip.SrcIP[0] == 192 || ip.DstIP[0] == 192 {
					continue // the real connections
				}
				switch {
				case tcp.SYN && !tcp.ACK:
					syn++
				case tcp.SYN && tcp.ACK:
					sa++
				case tcp.RST && tcp.ACK:
					ra++
				case tcp.RST:
					bare++
				}
			}
			if syn != flood || !tt.wantRA(ra) || !tt.wantSA(sa) || !tt.wantR(bare) {
				t.Errorf("SYNs %d (want %d), RST+ACKs %d, SYN-ACKs %d, RSTs %d", syn, flood, ra, sa, bare)
			}
		})
	}
}

func zero(n int) bool              { return n == 0 }
func exactly(m int) func(int) bool { return func(n int) bool { return n == m } }

// near accepts a binomial count within 5 % of its mean.
func near(m int) func(int) bool {
	return func(n int) bool { return n > m*95/100 && n < m*105/100 }
}
