//go:build unix

package flow

import (
	"syscall"
	"unsafe"
)

// mapChunk maps a chunk of n pointer-free values outside the Go heap. The
// collector lets the heap grow to twice what is live before it collects,
// and a full table's attempts are most of what is live in a flood: on
// bench/synflood without resets (10 M unanswered SYNs) peak RSS was 179 MB
// with the chunks on the heap. Attempts and replies hold no pointers, so
// memory the collector does not know about is safe for them. ok is false
// when the mapping failed; the caller then takes heap memory.
func mapChunk[T any](n int) (c []T, ok bool) {
	var z T
	b, err := syscall.Mmap(-1, 0, n*int(unsafe.Sizeof(z)),
		syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n), true
}

// unmapChunk releases a chunk mapChunk returned.
func unmapChunk[T any](c []T) {
	var z T
	_ = syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&c[0])), len(c)*int(unsafe.Sizeof(z))))
}
