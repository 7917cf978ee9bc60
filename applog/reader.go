package applog

import (
	"bufio"
	"io"
)

// maxRaw bounds the bytes of one line held while reading it: a JSON record
// (a journald export line is about 1–2 KB) is parsed whole up to this; a
// longer line is cut and read as text. Whatever its length, a line costs at
// most this much memory.
const maxRaw = 64 << 10

// lineReader reads lines with bounded memory and counts their offsets.
type lineReader struct {
	br   *bufio.Reader
	keep []byte
	off  int64 // offset of the next line
	num  int   // number of the last line returned
}

func newLineReader(r io.Reader, off int64, num int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, maxRaw), off: off, num: num}
}

// reset reads r from offset off after line num, keeping the buffer.
func (r *lineReader) reset(rd io.Reader, off int64, num int) {
	r.br.Reset(rd)
	r.off, r.num = off, num
}

// next returns the next line without its line ending, the number of bytes
// cut from it, and the offset where it started. The line is valid until
// the next call. At the end it returns io.EOF.
func (r *lineReader) next() (line []byte, cut int, start int64, err error) {
	start = r.off
	b, err := r.br.ReadSlice('\n')
	r.off += int64(len(b))
	if err == bufio.ErrBufferFull {
		r.keep = append(r.keep[:0], b...)
		line = r.keep
		for err == bufio.ErrBufferFull {
			b, err = r.br.ReadSlice('\n')
			r.off += int64(len(b))
			cut += len(b)
		}
		if len(b) > 0 && b[len(b)-1] == '\n' {
			cut--
		}
	} else {
		line = b
	}
	if err != nil && (err != io.EOF || len(line) == 0 && cut == 0) {
		return nil, 0, start, err
	}
	r.num++
	if n := len(line); n > 0 && line[n-1] == '\n' && cut == 0 {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, cut, start, nil
}
