//go:build linux

package lab

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtoolSetTxCsum is ETHTOOL_STXCSUM from linux/ethtool.h.
const ethtoolSetTxCsum = 0x17

// noTxChecksumOffload turns transmit checksum offload off on ifname inside
// n (ethtool -K IF tx off, without needing ethtool). veth otherwise hands
// segments on with the checksum unfinished, and every frame a host sends
// shows a wrong checksum in its own capture; with it off the captures are
// clean, as a tap on a real wire would record them.
func noTxChecksumOffload(n *netns, ifname string) error {
	return n.do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening ioctl socket: %w", err)
		}
		defer unix.Close(fd)
		value := struct{ cmd, data uint32 }{ethtoolSetTxCsum, 0}
		var ifr struct {
			name [unix.IFNAMSIZ]byte
			data uintptr
			_    [16]byte
		}
		copy(ifr.name[:], ifname)
		ifr.data = uintptr(unsafe.Pointer(&value))
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
			return fmt.Errorf("turning off checksum offload on %s in %s: %w", ifname, n.name, errno)
		}
		return nil
	})
}
