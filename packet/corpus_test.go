package packet_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/packet"
)

// TestDecodeCorpus decodes every capture of the shared corpus and checks that
// Decode finds as many resets as tshark did (MANIFEST.tsv column
// tcp_rst_count, tshark's tcp.flags.reset==1), through every link type and
// tunnel the corpus holds, and that no frame is undecodable but those tshark
// also calls malformed.
func TestDecodeCorpus(t *testing.T) {
	// Frames tshark 4.0 also flags: "Short segment ... does not contain a full
	// TCP header" (data offset 40 in a 32-byte segment) and "bogus TCP header
	// length (0, must be at least 20)".
	malformed := map[string]int{
		"suricata-verify/bug-76.pcap":              1, // frame 46
		"gopacket/linux_sll_oversized_addr.pcapng": 1, // frame 95
	}
	dir := testutil.CorpusDir(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		name, want := col[0], col[5]
		wantRST, err := strconv.Atoi(want)
		if err != nil {
			t.Fatalf("%s: bad tcp_rst_count %q", name, want)
		}
		t.Run(name, func(t *testing.T) {
			r, err := capture.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var p packet.Packet
			var rsts, bad int
			for {
				data, info, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				err = p.Decode(data, info.Link)
				switch {
				case err == nil:
					if p.Flags.Has(packet.RST) {
						rsts++
					}
				case errors.Is(err, packet.ErrNotTCP), errors.Is(err, packet.ErrFragment):
				default:
					bad++
					t.Logf("frame %d (link %d): %v", info.Frame, info.Link, err)
				}
			}
			if rsts != wantRST {
				t.Errorf("decoded %d resets, tshark found %d", rsts, wantRST)
			}
			if bad != malformed[name] {
				t.Errorf("%d frames undecodable, want %d", bad, malformed[name])
			}
		})
	}
}
