// Package capture reads packets from capture files (pcap and pcapng, plain
// or gzip-compressed, or standard input) and, on Linux, from live interfaces.
package capture

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/packet"
)

// Info describes one captured frame.
type Info struct {
	Time       time.Time
	Frame      uint64 // 1-based frame number in the file, as Wireshark counts
	CaptureLen int
	WireLen    int
	Link       packet.LinkType
	// BadTime says the frame's own timestamp was impossible (see
	// Reader.Next) and Time is the previous good frame's instead.
	BadTime bool
}

// The range of timestamps a capture can honestly hold: from the pcap epoch
// to the last instant RFC 3339 can write. pcap's 32-bit seconds always fall
// inside; pcapng's 64-bit ticks reach year 586,000 at µs resolution, a
// negative if_tsoffset goes before 1970, and a simple packet block has no
// timestamp at all (pcapgo gives it the zero time, year 1).
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// ErrNotCapture is returned by Open for input that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// source is what pcapgo's two readers have in common.
type source interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader reads frames from one capture file. It is not safe for concurrent use.
type Reader struct {
	name   string
	closer io.Closer
	src    source
	ng     *pcapgo.NgReader // non-nil for pcapng: link type per interface
	link   packet.LinkType  // pcap's single link type
	frame  uint64
	bytes  *countingReader
	size   int64     // file size when known, for progress; 0 otherwise
	err    error     // the first error Next returned, returned again after it
	framer *ngFramer // pcapng only: its error is the real one under pcapgo's
	last   time.Time // the last good timestamp, given to frames without one

	stopWake func() bool // cancels the deadline that wakes a blocked read
}

// Open opens a capture file; name "-" reads standard input. Gzip- and
// bzip2-compressed input is recognised by its magic number, as are pcap (both byte orders,
// µs and ns) and pcapng.
func Open(name string) (*Reader, error) { return OpenContext(context.Background(), name) }

// OpenContext is Open for a read that ctx can stop: once ctx is done, Next
// returns ErrInterrupted after at most the frames already buffered (256 KiB),
// and a read blocked on a pipe (tcpdump -w - | rstscope analyze -) returns
// at once where the platform allows (see pollableStdin).
func OpenContext(ctx context.Context, name string) (*Reader, error) {
	var f io.ReadCloser
	var size int64
	if name == "-" {
		f = pollableStdin()
	} else {
		file, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		if st, err := file.Stat(); err == nil {
			size = st.Size()
		}
		f = file
	}
	r, err := newReader(ctx, name, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer, r.size = f, size
	if d, ok := f.(interface{ SetReadDeadline(time.Time) error }); ok && ctx.Done() != nil {
		// Wake a read blocked on a pipe or socket: the past deadline makes
		// it return, and countingReader then reports the interrupt.
		r.stopWake = context.AfterFunc(ctx, func() { d.SetReadDeadline(time.Unix(1, 0)) })
	}
	return r, nil
}

// readBuffer is the size of the read buffers. 256 KiB read a pcapng file
// about a third faster than 1 MiB (BenchmarkReader, user CPU time, best of
// four on a busy 2-core machine: 0.61 s against 0.89 s for 2 M frames; pcap
// 0.30 s against 0.39 s): the buffer stays in cache between the copy into
// it and the copy out. Syscalls stay few.
const readBuffer = 256 << 10

// NewReader reads a capture from in; name labels errors.
func NewReader(name string, in io.Reader) (*Reader, error) {
	return newReader(context.Background(), name, in)
}

// ErrInterrupted marks a read stopped by its context; it wraps the
// context's error too, so errors.Is(err, context.Canceled) holds.
var ErrInterrupted = errors.New("interrupted")

func newReader(ctx context.Context, name string, in io.Reader) (*Reader, error) {
	cr := &countingReader{r: in, ctx: ctx, done: ctx.Done()}
	// The framer checks pcapng block lengths as the bytes pass (see
	// ngFramer); for anything else it steps aside after four bytes.
	framer := &ngFramer{r: cr}
	br := bufio.NewReaderSize(framer, readBuffer)
	var body *bufio.Reader = br
	if magic, err := br.Peek(3); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: reading gzip header: %w", name, err)
		}
		framer = &ngFramer{r: zr}
		body = bufio.NewReaderSize(framer, readBuffer)
	} else if err == nil && string(magic) == "BZh" {
		framer = &ngFramer{r: bzip2.NewReader(br)}
		body = bufio.NewReaderSize(framer, readBuffer)
	}
	magic, err := body.Peek(4)
	if err != nil {
		var pe *fs.PathError
		switch {
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%s: empty or too short to be a capture: %w", name, ErrNotCapture)
		case errors.Is(err, ErrBadBlock): // the section header itself
			return nil, fmt.Errorf("%s: reading pcapng header: %w", name, err)
		case errors.As(err, &pe):
			return nil, err // "read NAME: is a directory" already names the file
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%s: %w: compressed stream cut short", name, ErrTruncatedFile)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r := &Reader{name: name, bytes: cr, last: minTime.UTC()}
	switch binary.LittleEndian.Uint32(magic) {
	case 0x0A0D0D0A: // pcapng section header block
		// body is a bufio.Reader big enough for NgReader to use as is.
		r.framer = framer
		ng, err := pcapgo.NewNgReader(body, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			if r.framer.err != nil {
				err = r.framer.err
			}
			return nil, headerError(name, "pcapng", err)
		}
		r.src, r.ng = ng, ng
	case 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 0x4D3CB2A1:
		m := binary.LittleEndian.Uint32(magic) // before reading moves the buffer under it
		pr, err := pcapgo.NewReader(body)
		if err != nil {
			return nil, headerError(name, "pcap", err)
		}
		// pcapgo read and checked the header from body (a bufio.Reader
		// it uses as is); the records are read from there without it.
		r.src, r.link = newPcapRecords(body, m, pr.Snaplen()), packet.LinkType(pr.LinkType())
	default:
		return nil, notCaptureError(name, body, magic)
	}
	return r, nil
}

// compressions are the compressed formats a capture often travels in that
// the reader does not open itself, by their magic numbers.
var compressions = []struct{ magic, name, decompress string }{
	{"\x28\xb5\x2f\xfd", "zstd", "zstd -dc"},
	{"\xfd7zX", "xz", "xz -dc"},
	{"\x04\x22\x4d\x18", "lz4", "lz4 -dc"},
	{"PK\x03\x04", "zip", "unzip -p"},
}

// notCaptureError says in one line what the file is instead of a capture
// when its first bytes tell: a compression the reader does not undo, or
// text (tcpdump's printed output rather than its -w file).
func notCaptureError(name string, body *bufio.Reader, magic []byte) error {
	for _, c := range compressions {
		if string(magic) == c.magic {
			return fmt.Errorf("%s: %w: %s-compressed; decompress it first: %s %s | rstscope analyze -", name, ErrNotCapture, c.name, c.decompress, name)
		}
	}
	head, _ := body.Peek(64)
	if len(head) > 0 && utf8.Valid(head) && !bytes.ContainsFunc(head, func(r rune) bool { return r < ' ' && r != '\n' && r != '\r' && r != '\t' }) {
		return fmt.Errorf("%s: %w: it is text (tcpdump's printed output? write a capture with tcpdump -w FILE)", name, ErrNotCapture)
	}
	return fmt.Errorf("%s: %w (magic %08x)", name, ErrNotCapture, binary.BigEndian.Uint32(magic))
}

// headerError describes a failure to read a file's header in one line.
func headerError(name, format string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w: cut in the %s header", name, ErrTruncatedFile, format)
	}
	return fmt.Errorf("%s: reading %s header: %w", name, format, err)
}

// Name returns the name the reader was opened with.
func (r *Reader) Name() string { return r.name }

// Next returns the next frame. The data is owned by the Reader and valid only
// until the next call. At the clean end of the file it returns io.EOF; any
// other error names the file and the damage, and frames before it were good.
//
// After the first error every later call returns it again: pcapgo's readers
// would otherwise go on reading from the middle of a damaged record.
//
// A timestamp outside minTime..maxTime is replaced by the last good one (the
// Unix epoch before any) and the frame marked BadTime: one wild timestamp
// would otherwise expire every connection at once, and no output format
// could write it. The frame itself is still analysed.
func (r *Reader) Next() ([]byte, Info, error) {
	if r.err != nil {
		return nil, Info{}, r.err
	}
	data, ci, err := r.src.ZeroCopyReadPacketData()
	if err != nil {
		if r.bytes.stop {
			// However pcapgo passed the read's error on (as is, flattened,
			// or as a cut record), the cause is the interrupt.
			r.err = fmt.Errorf("%s: %w after frame %d: %w", r.name, ErrInterrupted, r.frame, r.bytes.ctx.Err())
			return nil, Info{}, r.err
		}
		// pcapgo's pcap reader returns a bare io.EOF when the file ends
		// right after a record header; the record's length tells that
		// from a clean end.
		if err == io.EOF && ci.CaptureLength == 0 {
			r.err = io.EOF
		} else {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.err = r.damage(err)
		}
		return nil, Info{}, r.err
	}
	r.frame++
	info := Info{Time: ci.Timestamp, Frame: r.frame, CaptureLen: ci.CaptureLength, WireLen: ci.Length, Link: r.link}
	if ci.Timestamp.Before(minTime) || ci.Timestamp.After(maxTime) {
		info.Time, info.BadTime = r.last, true
	} else {
		r.last = ci.Timestamp
	}
	if r.ng != nil {
		if len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				info.Link = packet.LinkType(lt)
			}
		}
	}
	if info.WireLen < info.CaptureLen {
		info.WireLen = info.CaptureLen
	}
	return data, info, nil
}

// damage turns a reader error into one line naming the file and the problem.
func (r *Reader) damage(err error) error {
	after := fmt.Sprintf("after frame %d", r.frame)
	if r.frame == 0 {
		after = "before the first frame"
	}
	if r.framer != nil && r.framer.err != nil {
		// pcapgo passes it on, sometimes flattened with %v.
		err = r.framer.err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w: cut %s", r.name, ErrTruncatedFile, after)
	}
	return fmt.Errorf("%s: damaged %s: %w", r.name, after, err)
}

// ErrTruncatedFile marks a capture that ends in the middle of a record.
var ErrTruncatedFile = errors.New("file is truncated")

// Progress returns the compressed-input bytes consumed and the file's size (0
// when unknown, as for standard input).
func (r *Reader) Progress() (read, size int64) { return r.bytes.n, r.size }

// BeforeRead makes Next call f on its goroutine before each read from the
// underlying input, that is before it may wait for more bytes (on a pipe,
// for the next packet): a caller that batches frames hands over the ones it
// holds, so that a quiet pipe does not hold back what arrived. It comes
// once per 256 KiB buffer fill; f must not call the Reader.
func (r *Reader) BeforeRead(f func()) { r.bytes.before = f }

// Close closes the underlying file.
func (r *Reader) Close() error {
	if r.stopWake != nil {
		r.stopWake()
	}
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// countingReader counts the bytes read and, once its context is done,
// reads nothing more. It sits below the 256 KiB buffer, so the check costs
// one channel poll per buffer fill.
type countingReader struct {
	r    io.Reader
	n    int64
	ctx  context.Context
	done <-chan struct{} // nil for a context that is never done
	stop bool            // a read was refused or failed after the interrupt

	before func() // see Reader.BeforeRead
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.before != nil {
		c.before()
	}
	if err := c.interrupted(); err != nil {
		c.stop = true
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && c.interrupted() != nil {
		c.stop = true // the deadline that woke the read, most likely
	}
	return n, err
}

// interrupted returns the context's error once it is done.
func (c *countingReader) interrupted() error {
	if c.done == nil {
		return nil
	}
	select {
	case <-c.done:
		return c.ctx.Err()
	default:
		return nil
	}
}
