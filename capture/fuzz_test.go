package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
)

// FuzzReader feeds arbitrary bytes as a capture file: NewReader and Next
// must not panic, and Next must end (io.EOF or an error naming the file)
// within a bound set by the input's size.
func FuzzReader(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	recs := []rec{{t0, frameEth, 0}, {t0, frameRaw, 60}}
	f.Add(pcapFile(le, false, 1, 65535, recs))
	f.Add(pcapFile(be, true, 101, 65535, recs))
	f.Add(pcapFile(le, false, 147, 96, recs))
	f.Add(ngSectionBE(101, recs))
	f.Add(append(ngSectionBE(1, recs), ngSectionBE(113, []rec{{t0, frameSLL, 0}})...))
	// Damaged pcapng: a bad block length, a bad trailing length, a cut.
	ng := ngSectionBE(1, recs)
	for _, at := range []int{36, 4, len(ng) - 4} {
		bad := bytes.Clone(ng)
		be.PutUint32(bad[at:], 13)
		f.Add(bad)
	}
	f.Add(ng[:len(ng)-7])
	f.Add([]byte("not a capture"))
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	for _, name := range []string{"lo-resets.pcap", "lo-resets.pcapng", "lo-resets.pcap.gz", "lo-resets-truncated.pcap"} {
		if b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(f), "testdata", "capture", name)); err == nil {
			f.Add(b)
		}
	}
	// A few small captures of the shared corpus, where it is present.
	dir := os.Getenv("RSTSCOPE_CORPUS")
	if dir == "" {
		dir = filepath.Join(testutil.ModuleRoot(f), "..", "shared", "corpus")
	}
	for _, name := range []string{"zeek/ldap__modify-request.pcapng", "tcpdump/mptcp-tcprst.pcap",
		"zeek/http__get-to-ssh-server.pcap", "gopacket/linux_sll_oversized_addr.pcapng", "zeek/redis__attr.pcap"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.cap"
		r, err := NewReader(name, bytes.NewReader(data))
		if err != nil {
			if !bytes.HasPrefix([]byte(err.Error()), []byte(name+": ")) {
				t.Fatalf("NewReader error %q does not name the file", err)
			}
			return
		}
		// Every frame costs at least 12 bytes of input (a pcap record header
		// is 16, a pcapng simple packet block 16); gzip expands at most ~1032×.
		limit := len(data)*1100/12 + 2
		for n := 0; ; n++ {
			if n > limit {
				t.Fatalf("Next returned %d frames from %d bytes of input", n, len(data))
			}
			frame, info, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !bytes.HasPrefix([]byte(err.Error()), []byte(name+": ")) {
					t.Fatalf("Next error %q does not name the file", err)
				}
				if _, _, again := r.Next(); again == nil || errors.Is(again, io.EOF) {
					t.Fatalf("Next after an error returned %v", again)
				}
				break
			}
			if len(frame) != info.CaptureLen || info.WireLen < info.CaptureLen || info.Frame != uint64(n+1) {
				t.Fatalf("frame %d: len %d, Info %+v", n+1, len(frame), info)
			}
		}
	})
}
