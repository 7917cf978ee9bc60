//go:build unix

package applog

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// view maps windows of a file. The bytes at returns are valid until the
// next call or Close, and reading them faults (SIGBUS) if the file was cut
// short since: readers guard with guardFault.
type view struct {
	f    *os.File
	size int64
	m    []byte // the mapping, of bytes [off, off+len(m))
	off  int64
}

// newView reads f, of size bytes (the size at Open: later growth is not
// read). The caller keeps f open until Close.
func newView(f *os.File, size int64) *view { return &view{f: f, size: size} }

var pageSize = int64(os.Getpagesize())

// at returns the bytes from p on, at least min(n, size-p) of them (more
// when the window holds more).
func (v *view) at(p int64, n int) ([]byte, error) {
	if p < 0 || p >= v.size {
		return nil, io.ErrUnexpectedEOF
	}
	want := min(int64(n), v.size-p)
	if v.m != nil && p >= v.off && p+want <= v.off+int64(len(v.m)) {
		return v.m[p-v.off:], nil
	}
	if err := v.unmap(); err != nil {
		return nil, err
	}
	start := p &^ (pageSize - 1)
	length := min(max(viewWindow, p-start+want), v.size-start)
	m, err := unix.Mmap(int(v.f.Fd()), start, int(length), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	// Passes go forward: the kernel reads ahead for them when the file is
	// not in the page cache, and drops what they have passed sooner.
	_ = unix.Madvise(m, unix.MADV_SEQUENTIAL)
	v.m, v.off = m, start
	return v.m[p-v.off:], nil
}

func (v *view) unmap() error {
	if v.m == nil {
		return nil
	}
	err := unix.Munmap(v.m)
	v.m = nil
	return err
}

// Close unmaps the window (not the file, which the caller closes).
func (v *view) Close() error { return v.unmap() }
