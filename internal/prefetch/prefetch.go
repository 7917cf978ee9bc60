// Package prefetch asks the CPU to start reading a cache line that the
// program will read soon, without waiting for it.
//
// The flow table's and the host table's indexes are read at random: on a
// SYN flood (bench/flood.sh -k unanswered) nearly every lookup's first
// slot is a cache miss, and those lookups were about 5 of the 10.6 CPU
// seconds of the goroutine that tracks. A plain load issued early would
// help little: the CPU retires instructions in order, so it stalls on the
// load once its reorder buffer (a few hundred instructions, a fraction of
// one packet's work) is full; a prefetch instruction retires at once.
package prefetch

import "unsafe"

// Line starts reading the cache line that holds p into the cache. It
// never faults and changes nothing the program can see; where the
// architecture has no such instruction here it does nothing.
func Line(p unsafe.Pointer) { line(uintptr(p)) }
