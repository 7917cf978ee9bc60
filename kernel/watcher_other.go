//go:build !(linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64))

package kernel

import (
	"fmt"
	"runtime"
	"time"
)

// Options configure a Watcher.
type Options struct {
	NetNS     []uint32
	RingBytes int
	NoForeign bool
}

// Watcher is unavailable on this platform.
type Watcher struct{}

// Open reports that watching needs Linux on a little-endian architecture.
func Open(Options) (*Watcher, error) {
	return nil, fmt.Errorf("%w: needs Linux on a little-endian CPU, this is %s/%s", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

func (w *Watcher) Notes() []string         { return nil }
func (w *Watcher) Foreign() string         { return "" }
func (w *Watcher) Read(*Event) error       { return ErrUnsupported }
func (w *Watcher) Time(e *Event) time.Time { return time.Time{} }
func (w *Watcher) Lost() (uint64, error)   { return 0, ErrUnsupported }
func (w *Watcher) Close() error            { return nil }
func (w *Watcher) SetDeadline(time.Time)   {}
func (w *Watcher) BootNow() uint64         { return 0 }
