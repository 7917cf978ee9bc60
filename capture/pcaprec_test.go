package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/internal/testutil"
)

// readRecords lists what a source returns, frame by frame, up to and
// including its first error, one line per call.
func readRecords(src source) []string {
	var out []string
	for len(out) < 1<<16 {
		data, ci, err := src.ZeroCopyReadPacketData()
		if err != nil {
			return append(out, fmt.Sprintf("err %v caplen %d", err, ci.CaptureLength))
		}
		out = append(out, fmt.Sprintf("%v %d %d %x", ci.Timestamp, ci.CaptureLength, ci.Length, data))
	}
	return out
}

// recordsBoth reads file (a classic pcap) with pcapgo's reader and with
// pcapRecords, through a buffer of bufSize bytes.
func recordsBoth(t *testing.T, file []byte, bufSize int) (got, want []string, ok bool) {
	t.Helper()
	pg, err := pcapgo.NewReader(bufio.NewReaderSize(bytes.NewReader(file), bufSize))
	if err != nil {
		return nil, nil, false
	}
	// pcapgo.NewReader would wrap a buffer under 4 KiB in one of its own
	// (analyze's is 256 KiB, used as is): skip the header it checked.
	br := bufio.NewReaderSize(bytes.NewReader(file), bufSize)
	br.Discard(24)
	mine := newPcapRecords(br, binary.LittleEndian.Uint32(file), pg.Snaplen())
	return readRecords(mine), readRecords(pg), true
}

// TestPcapRecordsAsPcapgo: the records, timestamps and errors of
// pcapRecords are pcapgo's, on real captures and on every way of cutting
// or corrupting one: byte order and resolution, a file cut at each byte of
// its last records, impossible lengths, records longer than the buffer.
func TestPcapRecordsAsPcapgo(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	recs := []rec{{t0, frameEth, 0}, {t0, frameRaw, 60}, {t0, frameEth, 0}}
	files := map[string][]byte{
		"µs little-endian": pcapFile(le, false, 1, 65535, recs),
		"ns big-endian":    pcapFile(be, true, 101, 65535, recs),
		"snaplen 96":       pcapFile(le, false, 147, 96, recs),
	}
	root := testutil.ModuleRoot(t)
	for _, name := range []string{"testdata/capture/lo-resets.pcap", "testdata/capture/lo-resets-truncated.pcap", "testdata/sample/resets.pcap"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(name)] = b
	}
	for name, file := range files {
		cases := map[string][]byte{"whole": file}
		for cut := max(24, len(file)-200); cut < len(file); cut++ {
			cases[fmt.Sprintf("cut at %d", cut)] = file[:cut]
		}
		for _, at := range []int{24 + 8, 24 + 12} { // the first record's caplen, then its wire length
			for _, v := range []uint32{0, 1, 1 << 20, 1<<32 - 1} {
				bad := bytes.Clone(file)
				if bad[0] == 0xD4 || bad[0] == 0xA1 && bad[1] == 0xB2 && bad[3] == 0xD4 {
					continue
				}
				binary.LittleEndian.PutUint32(bad[at:], v) // little-endian files only
				cases[fmt.Sprintf("field %d = %d", at, v)] = bad
			}
		}
		for cname, b := range cases {
			for _, size := range []int{16, 64, 4096} {
				got, want, ok := recordsBoth(t, b, size)
				if !ok {
					continue
				}
				if len(got) != len(want) {
					t.Errorf("%s, %s, buffer %d: got %d records, want %d\ngot  %.200q\nwant %.200q", name, cname, size, len(got), len(want), got[len(got)-1], want[len(want)-1])
					continue
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%s, %s, buffer %d: record %d\ngot  %.200s\nwant %.200s", name, cname, size, i+1, got[i], want[i])
						break
					}
				}
			}
		}
	}
}

// FuzzPcapRecordsAsPcapgo: for any bytes that pcapgo takes as a pcap file,
// pcapRecords returns what pcapgo returns, record by record, error
// included, through a small buffer and a large one.
func FuzzPcapRecordsAsPcapgo(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	recs := []rec{{t0, frameEth, 0}, {t0, frameRaw, 60}}
	f.Add(pcapFile(le, false, 1, 65535, recs))
	f.Add(pcapFile(be, true, 101, 65535, recs))
	f.Add(pcapFile(le, false, 147, 96, recs))
	if b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(f), "testdata", "capture", "lo-resets-truncated.pcap")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		if len(file) < 24 {
			return
		}
		for _, size := range []int{16, 4096} {
			got, want, ok := recordsBoth(t, file, size)
			if !ok {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("buffer %d:\ngot  %.300q\nwant %.300q", size, got, want)
			}
		}
	})
}
