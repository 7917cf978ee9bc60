//go:build !unix

package applog

import (
	"io"
	"os"
)

// view reads windows of a file into one buffer where mapping is not
// available. The bytes at returns are valid until the next call.
type view struct {
	f     *os.File
	size  int64
	space []byte
	buf   []byte // the bytes [off, off+len(buf))
	off   int64
}

func newView(f *os.File, size int64) *view {
	return &view{f: f, size: size, space: make([]byte, viewWindow)}
}

// at returns the bytes from p on, at least min(n, size-p) of them.
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
	m, err := v.f.ReadAt(v.space[:min(int64(len(v.space)), v.size-p)], p)
	if int64(m) < want {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // shorter than at Open
		}
		return nil, err
	}
	v.buf, v.off = v.space[:m], p
	return v.buf, nil
}

func (v *view) Close() error { return nil }
