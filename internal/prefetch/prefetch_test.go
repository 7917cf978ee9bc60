package prefetch

import (
	"testing"
	"unsafe"
)

// TestLineChangesNothing: prefetching any byte of a buffer, the byte past
// its end and nil neither faults nor changes what the buffer holds.
func TestLineChangesNothing(t *testing.T) {
	b := make([]byte, 8192)
	for i := range b {
		b[i] = byte(i * 7)
	}
	for i := range b {
		Line(unsafe.Pointer(&b[i]))
	}
	Line(unsafe.Add(unsafe.Pointer(&b[0]), len(b)))
	Line(nil)
	for i := range b {
		if b[i] != byte(i*7) {
			t.Fatalf("byte %d is %d after prefetching, want %d", i, b[i], byte(i*7))
		}
	}
}
