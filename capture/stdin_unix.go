//go:build unix

package capture

import (
	"io"
	"os"
	"syscall"
)

// pollableStdin returns standard input so that a read blocked on it can be
// woken by a deadline: for a pipe (tcpdump -w - | rstscope analyze -) the
// descriptor is made non-blocking, which puts it in Go's poller. Without
// that, Ctrl-C waits for the next packet to arrive. Only a pipe is changed:
// the read end is this process's alone, while a terminal's mode is shared
// with the shell. Close restores blocking mode.
func pollableStdin() io.ReadCloser {
	st, err := os.Stdin.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return io.NopCloser(os.Stdin)
	}
	// A duplicate descriptor, so that closing it (or its finalizer) leaves
	// descriptor 0 open; the non-blocking flag belongs to the open pipe and
	// so holds for both. NewFile sees it non-blocking and polls it.
	fd, err := syscall.Dup(int(os.Stdin.Fd()))
	if err != nil {
		return io.NopCloser(os.Stdin)
	}
	if syscall.SetNonblock(fd, true) != nil {
		syscall.Close(fd)
		return io.NopCloser(os.Stdin)
	}
	return &stdinPipe{File: os.NewFile(uintptr(fd), "/dev/stdin"), fd: fd}
}

type stdinPipe struct {
	*os.File
	fd int
}

func (s *stdinPipe) Close() error {
	syscall.SetNonblock(s.fd, false)
	return s.File.Close()
}
