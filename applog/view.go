package applog

import (
	"bytes"
	"runtime/debug"
)

// A view reads a large file's bytes a window at a time (view_unix.go maps
// them, view_other.go reads them into a buffer): the sampling pass and the
// line count of a sampled file (sparse.go) go through one. Mapping spares
// the copy a read makes, which was most of the sampling pass's CPU: on the
// bench's 1 GB log, counting its newlines took 115–128 ms read in 4 MiB
// or 256 KiB pieces against 75–87 ms mapped, and touching one byte in
// every 16 KiB (what sampling reads) 15–19 ms mapped. Windows, not the
// whole file, are mapped so that the pages a pass has touched leave its
// resident set as it moves on: a whole mapping counted up to the file's
// size in the peak RSS.
const viewWindow = 8 << 20

// guardFault turns a fault reading mapped bytes into errChanged: the file
// was cut short under its mapping (a log truncated by its rotation), which
// the kernel reports as SIGBUS. Call it deferred, after
// defer debug.SetPanicOnFault(debug.SetPanicOnFault(true)).
func guardFault(err *error) {
	if r := recover(); r != nil {
		if _, ok := r.(interface{ Addr() uintptr }); ok {
			*err = errChanged
			return
		}
		panic(r)
	}
}

// countLines returns the newlines in [from, to) of v's file.
func (v *view) countLines(from, to int64) (n int, err error) {
	defer guardFault(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	for p := from; p < to; {
		b, err := v.at(p, int(min(to-p, viewWindow/2)))
		if err != nil {
			return 0, err
		}
		b = b[:min(int64(len(b)), to-p)]
		n += bytes.Count(b, []byte{'\n'})
		p += int64(len(b))
	}
	return n, nil
}
