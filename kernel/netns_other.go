//go:build !linux

package kernel

import (
	"net/netip"
	"time"
)

// NetNSAddrs tells whether an address is a network namespace's own;
// namespaces exist only on Linux.
type NetNSAddrs struct {
	Paths   []string
	Refresh time.Duration
}

// Prime does nothing on this platform.
func (n *NetNSAddrs) Prime() {}

// Forget does nothing on this platform.
func (n *NetNSAddrs) Forget(uint32) {}

// Local reports that nothing is known on this platform.
func (n *NetNSAddrs) Local(uint32, netip.Addr) (local, known bool) { return true, false }

// Forwards reports that nothing is known on this platform.
func (n *NetNSAddrs) Forwards(uint32, netip.Addr) (forwards, known bool) { return false, false }

// Elsewhere reports that nothing is known on this platform.
func (n *NetNSAddrs) Elsewhere(uint32, netip.AddrPort, netip.AddrPort) (other uint32, found bool) {
	return 0, false
}
