//go:build unix

package flow

import (
	"syscall"
	"unsafe"
)

// mapAttemptChunk maps a chunk of attempts outside the Go heap. The
// collector lets the heap grow to twice what is live before it collects,
// and a full table's attempts are most of what is live in a flood: on
// bench/synflood without resets (10 M unanswered SYNs) peak RSS was 179 MB
// with the chunks on the heap. Attempts hold no pointers, so memory the
// collector does not know about is safe for them. ok is false when the
// mapping failed; the caller then takes heap memory.
func mapAttemptChunk() (c []attempt, ok bool) {
	b, err := syscall.Mmap(-1, 0, attemptChunk*int(unsafe.Sizeof(attempt{})),
		syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	return unsafe.Slice((*attempt)(unsafe.Pointer(&b[0])), attemptChunk), true
}

// unmapAttemptChunk releases a chunk mapAttemptChunk returned.
func unmapAttemptChunk(c []attempt) {
	_ = syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&c[0])), len(c)*int(unsafe.Sizeof(attempt{}))))
}
