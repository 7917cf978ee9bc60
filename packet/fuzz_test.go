package packet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/internal/testutil"
)

// fuzzLinks are the link types FuzzDecode picks from; 147 (a user DLT) stands
// for every link type Decode does not know.
var fuzzLinks = []LinkType{LinkEthernet, LinkRaw, LinkSLL, LinkSLL2, LinkNull, LinkLoop, LinkFDDI,
	LinkIPv4, LinkIPv6, LinkDLTRaw12, LinkDLTRaw14, 147}

func fuzzLinkIndex(lt LinkType) uint8 {
	for i, l := range fuzzLinks {
		if l == lt {
			return uint8(i)
		}
	}
	return uint8(len(fuzzLinks) - 1)
}

// corpusFrames returns up to max frames of each named capture of the shared
// corpus, or nothing where the corpus is absent (a fuzz target must not skip).
func corpusFrames(tb testing.TB, names []string, max int) (frames [][]byte, links []LinkType) {
	dir := os.Getenv("RSTSCOPE_CORPUS")
	if dir == "" {
		dir = filepath.Join(testutil.ModuleRoot(tb), "..", "shared", "corpus")
	}
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		var src interface {
			ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		}
		lt := LinkType(0)
		if filepath.Ext(name) == ".pcapng" {
			r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
			if err == nil {
				src, lt = r, LinkType(r.LinkType())
			}
		} else {
			r, err := pcapgo.NewReader(f)
			if err == nil {
				src, lt = r, LinkType(r.LinkType())
			}
		}
		for i := 0; src != nil && i < max; i++ {
			data, _, err := src.ReadPacketData()
			if err != nil {
				break
			}
			frames, links = append(frames, data), append(links, lt)
		}
		f.Close()
	}
	return frames, links
}

// FuzzDecode feeds random frames of every link type to Decode: it must not
// panic, and a decoded segment must be self-consistent.
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeTests() {
		f.Add(tt.data, fuzzLinkIndex(tt.link))
	}
	frames, links := corpusFrames(f, []string{
		"zeek/tunnels__Teredo.pcap", "zeek/tunnels__gre-aruba.pcap", "zeek/llc.pcap",
		"zeek/ldap__modify-request.pcapng", "zeek/redis__attr.pcap", "suricata-verify/bug-76.pcap",
		"tcpdump/mptcp-tcprst.pcap", "suricata-verify/issue-3341-tcphdr-01.pcap",
	}, 20)
	for i := range frames {
		f.Add(frames[i], fuzzLinkIndex(links[i]))
	}
	f.Fuzz(func(t *testing.T, data []byte, link uint8) {
		lt := fuzzLinks[int(link)%len(fuzzLinks)]
		var p Packet
		err := p.Decode(data, lt)
		if err != nil {
			for _, known := range []error{ErrNotTCP, ErrFragment, ErrTruncated, ErrMalformed, ErrUnknownLink, ErrTooManyLayers, ErrTunnel} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("Decode returned an error outside the documented set: %v", err)
		}
		if p.IPVersion != 4 && p.IPVersion != 6 {
			t.Errorf("IPVersion = %d", p.IPVersion)
		}
		if p.PayloadLen < 0 {
			t.Errorf("PayloadLen = %d < 0", p.PayloadLen)
		}
		if len(p.Payload) > p.PayloadLen {
			t.Errorf("len(Payload) = %d > PayloadLen %d", len(p.Payload), p.PayloadLen)
		}
		if len(p.Payload) < p.PayloadLen && !p.Truncated {
			t.Errorf("Payload %d of %d bytes but Truncated is false", len(p.Payload), p.PayloadLen)
		}
		if p.IPLen < p.PayloadLen {
			t.Errorf("IPLen %d < PayloadLen %d", p.IPLen, p.PayloadLen)
		}
		if p.Opt.Len > 40 || p.Opt.Len%4 != 0 {
			t.Errorf("Opt.Len = %d", p.Opt.Len)
		}
		if p.Link != lt {
			t.Errorf("Link = %d, want %d", p.Link, lt)
		}
	})
}
