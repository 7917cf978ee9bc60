package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrBadBlock marks a pcapng block whose length fields cannot be right.
var ErrBadBlock = errors.New("bad pcapng block")

// pcapng block types with a larger minimum length than the bare 12-byte
// frame of type, length and trailing length (pcapng draft §3.1, §4).
const (
	ngSHB      = 0x0A0D0D0A
	ngIDB      = 0x00000001
	ngSPB      = 0x00000003
	ngEPB      = 0x00000006
	ngBOMagic  = 0x1A2B3C4D
	ngHdrLen   = 8  // type and length
	ngSHBLen   = 12 // type, length and byte-order magic
	ngTrailLen = 4
)

// ngFramer checks pcapng block framing as the bytes stream past, below the
// buffer pcapgo's NgReader reads from. NgReader trusts both length fields: a
// length below a block's minimum or not a multiple of 4 made it read the
// following blocks as this one's body and report the file as truncated, and
// a trailing length that differs from the leading one went unnoticed.
// ngFramer stops the stream at such a block with an error naming its offset,
// so every frame before it is still returned.
//
// It copies nothing: it reads into the caller's buffer and walks only the
// block headers and trailers in it, skipping bodies by their length. A
// stream that does not start with a section header block (pcap, gzip) passes
// through untouched. In a CPU profile of BenchmarkReader/pcapng the scan
// stays below 1% of reading; a first version that peeked at each block
// through a second bufio.Reader added a copy of every byte.
type ngFramer struct {
	r io.Reader

	off       int64 // bytes scanned so far
	pass      bool  // not pcapng: pass everything through
	bigEndian bool

	// The block being scanned: the header is gathered in hdr, then the body
	// skipped, then the trailer gathered in hdr[:4] and compared.
	phase uint8 // phaseHeader, phaseBody, phaseTrailer
	hdr   [ngSHBLen]byte
	nhdr  int
	start int64  // offset of the block
	total uint32 // its leading length
	body  uint32 // body bytes still to skip

	err error // the framing error, returned once the bytes before it are out
}

const (
	phaseHeader = iota
	phaseBody
	phaseTrailer
)

func (f *ngFramer) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.r.Read(p)
	if f.pass || n == 0 {
		return n, err
	}
	if ok, ferr := f.scan(p[:n]); ferr != nil {
		f.err = ferr
		if ok > 0 {
			return ok, nil
		}
		return 0, ferr
	}
	return n, err
}

func (f *ngFramer) uint32(b []byte) uint32 {
	if f.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// scan walks b, the next bytes of the stream. On a framing error it returns
// how many bytes of b come before the bad block's header or trailer.
func (f *ngFramer) scan(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		switch f.phase {
		case phaseHeader:
			if f.nhdr == 0 {
				f.start = f.off + int64(i)
				if len(b)-i >= ngSHBLen {
					// The usual case: the whole header is in b.
					n, err := f.header(b[i : i+ngSHBLen])
					if err != nil || f.pass {
						return f.stop(b, i, err)
					}
					i += n
					continue
				}
			}
			// A header split between reads: gather it in hdr. Eight bytes
			// of type and length, four more for a section header's
			// byte-order magic.
			need := ngHdrLen
			if f.nhdr >= ngHdrLen && isSHB(f.hdr[:]) {
				need = ngSHBLen
			}
			c := copy(f.hdr[f.nhdr:need], b[i:])
			f.nhdr += c
			i += c
			if f.nhdr < 4 {
				continue
			}
			shb := isSHB(f.hdr[:])
			if (shb || f.start != 0) && (f.nhdr < ngHdrLen || shb && f.nhdr < ngSHBLen) {
				continue // else the first block is no section header: pass
			}
			n, err := f.header(f.hdr[:f.nhdr])
			if err != nil || f.pass {
				return f.stop(b, i-f.nhdr, err)
			}
			if n != f.nhdr { // cannot happen: header reads what it is given
				return f.stop(b, i, fmt.Errorf("%w: internal framing error at byte %d", ErrBadBlock, f.start))
			}
			f.nhdr = 0
		case phaseBody:
			if c := uint32(len(b) - i); c < f.body {
				f.body -= c
				i = len(b)
				continue
			}
			i += int(f.body)
			f.body, f.phase = 0, phaseTrailer
		case phaseTrailer:
			var tr []byte
			if f.nhdr == 0 && len(b)-i >= ngTrailLen {
				tr = b[i : i+ngTrailLen]
				i += ngTrailLen
			} else {
				c := copy(f.hdr[f.nhdr:ngTrailLen], b[i:])
				f.nhdr += c
				i += c
				if f.nhdr < ngTrailLen {
					continue
				}
				tr, f.nhdr = f.hdr[:ngTrailLen], 0
			}
			if got := f.uint32(tr); got != f.total {
				return f.stop(b, i-ngTrailLen, fmt.Errorf("%w: block at byte %d has length %d but its trailing length is %d", ErrBadBlock, f.start, f.total, got))
			}
			f.phase = phaseHeader
		}
	}
	f.off += int64(len(b))
	return len(b), nil
}

func isSHB(h []byte) bool {
	return binary.LittleEndian.Uint32(h) == ngSHB // reads the same in both byte orders
}

// header checks a block header: h holds at least its type and length, and
// for a section header its byte-order magic. It returns the header's length
// (8, or 12 for a section header) and moves to the body; or it sets f.pass
// when the stream is not pcapng after all (the first block is no section
// header, or one's byte-order magic is wrong: NgReader reports that itself).
func (f *ngFramer) header(h []byte) (int, error) {
	n := ngHdrLen
	var typ uint32
	if isSHB(h) {
		if len(h) < ngSHBLen {
			return 0, nil // not reached: callers gather 12 bytes first
		}
		switch {
		case binary.LittleEndian.Uint32(h[8:]) == ngBOMagic:
			f.bigEndian = false
		case binary.BigEndian.Uint32(h[8:]) == ngBOMagic:
			f.bigEndian = true
		default:
			f.pass = true
			return 0, nil
		}
		typ, n = ngSHB, ngSHBLen
	} else {
		if f.start == 0 {
			f.pass = true
			return 0, nil
		}
		typ = f.uint32(h)
	}
	total := f.uint32(h[4:])
	if total%4 != 0 || total < ngMinLen(typ) {
		return 0, fmt.Errorf("%w: block type %#x at byte %d has length %d", ErrBadBlock, typ, f.start, total)
	}
	f.total, f.body, f.phase = total, total-uint32(n)-ngTrailLen, phaseBody
	return n, nil
}

// stop ends the scan at index at of b: with err, the stream ends there (at
// is clamped to b: a header or trailer may have begun in an earlier read);
// without, the stream is passed through from now on.
func (f *ngFramer) stop(b []byte, at int, err error) (int, error) {
	if err == nil {
		f.off += int64(len(b))
		return len(b), nil
	}
	if at < 0 {
		at = 0
	}
	f.off += int64(at)
	return at, err
}

// ngMinLen is the smallest valid total length of a block of type typ.
func ngMinLen(typ uint32) uint32 {
	switch typ {
	case ngSHB:
		return 28
	case ngIDB:
		return 20
	case ngSPB:
		return 16
	case ngEPB:
		return 32
	}
	return 12
}
