//go:build !linux

package capture

import (
	"errors"
	"io"
)

// ErrLiveUnsupported is returned by StartLive where AF_PACKET does not exist.
var ErrLiveUnsupported = errors.New("live capture is not supported on this OS (needs Linux AF_PACKET)")

// LiveSnapLen is the snapshot length of live captures.
const LiveSnapLen = 65535

// Live is a running capture; on this OS it cannot be started.
type Live struct{}

// StartLive returns ErrLiveUnsupported: live capture needs Linux.
func StartLive(netnsPath, ifname string, w io.Writer) (*Live, error) {
	return nil, ErrLiveUnsupported
}

// Stop does nothing on this OS.
func (l *Live) Stop() (int, error) { return 0, ErrLiveUnsupported }

// FrameFunc receives each captured frame; data is valid only during the call.
type FrameFunc func(data []byte, info Info) error

// StartLiveFunc returns ErrLiveUnsupported: live capture needs Linux.
func StartLiveFunc(netnsPath, ifname string, handle FrameFunc) (*Live, error) {
	return nil, ErrLiveUnsupported
}

// Drops returns ErrLiveUnsupported on this OS.
func (l *Live) Drops() (uint64, error) { return 0, ErrLiveUnsupported }
