package applog

import (
	"bytes"
	"io"
	"os"
)

// A view reads a large file a window at a time with pread, for the
// sampling pass (a few bytes at each block's start: a small window) and
// the line count (every byte up to the blocks queries read: a large one)
// of a sampled file (sparse.go). Measured on the bench's 1 GB log (page
// cache warm): one 512-byte read per 64 KiB block, 16 k reads, took
// 19–27 ms of CPU, where mapping the file and touching the same places
// took 70–100 ms (each page fault maps 64 KiB, and unmapping costs too)
// and reading it all 115–128 ms; counting the newlines of its first
// 430 MB took 69–83 ms read through 64 KiB to 4 MiB buffers, and as long
// mapped.
type view struct {
	f      *os.File
	size   int64
	window int // bytes read at a time, unless a call wants more
	space  []byte
	buf    []byte // the bytes [off, off+len(buf))
	off    int64
	// ahead: with readAhead set, the bytes before it have been asked
	// for with willNeed.
	readAhead bool
	ahead     int64
}

// readAheadSize is how far ahead of its reads a sampling view asks for the
// file to be read (willNeed): with the bench's 1 GB log out of the page
// cache, opening it and reading the bench capture's span took 2.9 s wall
// (1.0 s CPU) so, 3.6 s without (4.9–5.3 s on main, counting all of it).
const readAheadSize = 8 << 20

// Windows of a view: sampleWindow holds the end of the line a block's
// start falls in and its first four lines, for lines of up to ~400 bytes
// (a longer one is read on, twice as much each time; reading 4 KiB a
// block took 55–71 ms of CPU on the bench's 1 GB log, 2 KiB 41–70, within
// the noise of it, 512 bytes ~240); countWindow stays in the CPU's cache
// while it is counted.
const (
	sampleWindow = 2 << 10
	countWindow  = 256 << 10
)

// newView reads f, of size bytes (its size at Open: what it has grown
// since is not read), window bytes at a time.
func newView(f *os.File, size int64, window int) *view {
	return &view{f: f, size: size, window: window, space: make([]byte, window)}
}

// at returns the bytes from p on, at least min(n, size-p) of them; they
// are valid until the next call.
func (v *view) at(p int64, n int) ([]byte, error) {
	if p < 0 || p >= v.size {
		return nil, io.ErrUnexpectedEOF
	}
	want := min(int64(n), v.size-p)
	if p >= v.off && p+want <= v.off+int64(len(v.buf)) {
		return v.buf[p-v.off:], nil
	}
	if int64(len(v.space)) < want {
		v.space = make([]byte, want)
	}
	if v.readAhead && p+want > v.ahead {
		n := min(readAheadSize, v.size-p)
		willNeed(v.f, p, n)
		v.ahead = p + n
	}
	m, err := v.f.ReadAt(v.space[:min(max(int64(v.window), want), v.size-p)], p)
	if int64(m) < want {
		if err == nil || err == io.EOF {
			err = errChanged // shorter than at Open
		}
		return nil, err
	}
	v.buf, v.off = v.space[:m], p
	return v.buf, nil
}

// holds says the bytes at p were read with the window last read.
func (v *view) holds(p int64) bool { return p >= v.off && p < v.off+int64(len(v.buf)) }

// countLines returns the newlines in [from, to).
func (v *view) countLines(from, to int64) (n int, err error) {
	for p := from; p < to; {
		b, err := v.at(p, int(min(to-p, int64(v.window))))
		if err != nil {
			return 0, err
		}
		b = b[:min(int64(len(b)), to-p)]
		n += bytes.Count(b, []byte{'\n'})
		p += int64(len(b))
	}
	return n, nil
}
