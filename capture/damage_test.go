package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket/layers"

	"github.com/rstscope/rstscope/internal/testutil"
)

// TestReaderDamage: damaged input gives every good frame before the damage,
// then one line naming the file and the problem, and never panics.
func TestReaderDamage(t *testing.T) {
	le := binary.LittleEndian
	three := []rec{{t0, frameEth, 0}, {t0, frameEth, 0}, {t0, frameEth, 0}}
	pcap3 := pcapFile(le, false, 1, 65535, three)
	ng3 := ngSection(t, []layers.LinkType{layers.LinkTypeEthernet}, three)
	// Offsets of the pcapng blocks: SHB, IDB, then the three EPBs.
	var blocks []int
	for off := 0; off < len(ng3); off += int(le.Uint32(ng3[off+4:])) {
		blocks = append(blocks, off)
	}
	epb2 := blocks[len(blocks)-2]
	epb3 := blocks[len(blocks)-1]
	setLen := func(b []byte, off int, n uint32) []byte {
		c := bytes.Clone(b)
		le.PutUint32(c[off:], n)
		return c
	}
	hugeCaplen := setLen(pcap3, 24+2*(16+60)+8, 1<<30)

	for _, tt := range []struct {
		name     string
		file     []byte
		openErr  []string // words the NewReader error must hold; nil: it succeeds
		frames   int      // good frames before the error; -1: any
		want     []string // words the Next error must hold
		sentinel error
	}{
		{name: "not a capture", file: []byte("this is a text file, not a capture\n"), openErr: []string{"not a pcap or pcapng capture"}, sentinel: ErrNotCapture},
		{name: "empty file", file: nil, openErr: []string{"empty"}, sentinel: ErrNotCapture},
		{name: "three bytes", file: []byte{0xd4, 0xc3, 0xb2}, openErr: []string{"empty or too short"}, sentinel: ErrNotCapture},
		{name: "gzip text", file: gz(t, []byte("hello, world")), openErr: []string{"not a pcap or pcapng capture"}, sentinel: ErrNotCapture},
		{name: "zstd", file: []byte{0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0, 0}, openErr: []string{"not a pcap or pcapng capture", "zstd-compressed", "zstd -dc damaged.cap | rstscope analyze -"}, sentinel: ErrNotCapture},
		{name: "xz", file: []byte{0xfd, '7', 'z', 'X', 'Z', 0}, openErr: []string{"xz-compressed", "xz -dc"}, sentinel: ErrNotCapture},
		{name: "tcpdump's text output", file: []byte("16:24:01.123456 IP 10.0.0.1.80 > 10.0.0.2.5555: Flags [R.], seq 1, ack 2, win 0, length 0\n"), openErr: []string{"it is text", "tcpdump -w"}, sentinel: ErrNotCapture},
		{name: "gzip header only", file: gz(t, nil)[:10], openErr: []string{"truncated"}, sentinel: ErrTruncatedFile},
		{name: "pcap header cut", file: pcap3[:20], openErr: []string{"truncated", "pcap header"}, sentinel: ErrTruncatedFile},
		{name: "pcap bad version", file: setLen(pcap3, 4, 7), openErr: []string{"pcap header", "version"}},
		{name: "pcapng section header length 13", file: setLen(ng3, 4, 13), openErr: []string{"pcapng header", "length 13"}, sentinel: ErrBadBlock},
		{name: "pcapng bad byte-order magic", file: setLen(ng3, 8, 0x01020304), openErr: []string{"pcapng header"}},
		{name: "pcapng header cut", file: ng3[:20], openErr: []string{"truncated", "pcapng header"}, sentinel: ErrTruncatedFile},
		{name: "pcap cut in frame data", file: pcap3[:len(pcap3)-10], frames: 2, want: []string{"truncated", "after frame 2"}, sentinel: ErrTruncatedFile},
		{name: "pcap cut right after a record header", file: pcap3[:len(pcap3)-60], frames: 2, want: []string{"truncated", "after frame 2"}, sentinel: ErrTruncatedFile},
		{name: "pcap cut in a record header", file: pcap3[:len(pcap3)-65], frames: 2, want: []string{"truncated", "after frame 2"}, sentinel: ErrTruncatedFile},
		{name: "pcap cut in the first record", file: pcap3[:30], want: []string{"truncated", "before the first frame"}, sentinel: ErrTruncatedFile},
		{name: "pcap gzip cut", file: gz(t, pcap3)[:60], want: []string{"truncated"}, sentinel: ErrTruncatedFile},
		{name: "pcap capture length past snaplen", file: hugeCaplen, frames: 2, want: []string{"after frame 2", "capture length"}},
		{name: "pcapng cut in a block", file: ng3[:len(ng3)-20], frames: 2, want: []string{"truncated", "after frame 2"}, sentinel: ErrTruncatedFile},
		{name: "pcapng gzip cut", file: gz(t, ng3)[:len(gz(t, ng3))-30], frames: -1, want: []string{"truncated"}, sentinel: ErrTruncatedFile},
		{name: "pcapng block length 0", file: setLen(ng3, epb2+4, 0), frames: 1, want: []string{"after frame 1", "block", "length 0"}, sentinel: ErrBadBlock},
		{name: "pcapng block length 13", file: setLen(ng3, epb2+4, 13), frames: 1, want: []string{"after frame 1", "length 13"}, sentinel: ErrBadBlock},
		{name: "pcapng block length below an EPB's", file: setLen(ng3, epb2+4, 20), frames: 1, want: []string{"after frame 1", "length 20"}, sentinel: ErrBadBlock},
		{name: "pcapng block length past the end", file: setLen(ng3, epb3+4, 1<<20), frames: 2, want: []string{"truncated"}, sentinel: ErrTruncatedFile},
		{name: "pcapng trailing length differs", file: setLen(ng3, epb3-4, 99), frames: 1, want: []string{"after frame 1", "trailing length is 99"}, sentinel: ErrBadBlock},
		{name: "pcapng interface id out of range", file: setLen(ng3, epb2+8, 5), frames: 1, want: []string{"after frame 1", "nterface id 5"}},
	} {
		for _, split := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{{"", func(r io.Reader) io.Reader { return r }}, {"/one byte a read", iotest.OneByteReader}, {"/half a read", iotest.HalfReader}} {
			t.Run(tt.name+split.name, func(t *testing.T) {
				damageCase(t, split.r(bytes.NewReader(tt.file)), tt.openErr, tt.frames, tt.want, tt.sentinel)
			})
		}
	}
}

// damageCase reads in: a NewReader error must hold openErr's words, or
// frames good frames (-1: any number) must come before an error holding
// want's words. sentinel, when not nil, must be in the error's chain.
func damageCase(t *testing.T, in io.Reader, openErr []string, frames int, want []string, sentinel error) {
	t.Helper()
	const name = "damaged.cap"
	r, err := NewReader(name, in)
	if openErr != nil {
		if err == nil {
			t.Fatal("NewReader succeeded, want an error")
		}
		checkErr(t, err, name, openErr, sentinel)
		return
	}
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	got, _, err := readAll(t, r)
	if frames >= 0 && len(got) != frames {
		t.Errorf("got %d frames before the error, want %d", len(got), frames)
	}
	for i, f := range got {
		if !bytes.Equal(f, frameEth) {
			t.Errorf("frame %d: got %x", i+1, f)
		}
	}
	if err == nil {
		t.Fatal("no error at the end, want one")
	}
	checkErr(t, err, name, want, sentinel)
	if _, _, again := r.Next(); again == nil || again.Error() != err.Error() {
		t.Errorf("Next after the error = %v, want the same error", again)
	}
}

func checkErr(t *testing.T, err error, name string, words []string, sentinel error) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, name+": ") {
		t.Errorf("error %q does not start with the file name", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is more than one line", msg)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("error %q is not %v", msg, sentinel)
	}
}

// TestReaderBzip2Cut reads a bzip2-compressed capture (bzip2 -9 of
// lo-resets.pcap) cut short: bzip2 decodes whole blocks (up to 900 kB), so
// the frames of the blocks before the cut come through and the cut one is
// said in one line; this file is one block, cut in it.
func TestReaderBzip2Cut(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "testdata", "capture", "lo-resets.pcap.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewReader("cut.pcap.bz2", bytes.NewReader(b[:len(b)-40]))
	if err == nil {
		t.Fatal("NewReader succeeded on a bzip2 stream cut in its only block")
	}
	checkErr(t, err, "cut.pcap.bz2", []string{"truncated"}, ErrTruncatedFile)
}

func TestReaderOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, path string
		words      []string
	}{
		{"missing file", filepath.Join(dir, "nope.pcap"), []string{"nope.pcap", "no such file"}},
		{"directory", dir, []string{dir, "is a directory"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.path)
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded, want an error")
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Count(err.Error(), tt.path) != 1 {
				t.Errorf("error %q names the file more or less than once", err)
			}
		})
	}
}

// TestReaderTruncatedFile reads the truncated capture in testdata.
func TestReaderTruncatedFile(t *testing.T) {
	path := filepath.Join(testutil.ModuleRoot(t), "testdata", "capture", "lo-resets-truncated.pcap")
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frames, _, err := readAll(t, r)
	if len(frames) != 8 {
		t.Errorf("got %d frames, want 8", len(frames))
	}
	checkErr(t, err, path, []string{"truncated", "after frame 8"}, ErrTruncatedFile)
}
