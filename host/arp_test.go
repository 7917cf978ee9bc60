package host

import (
	"net"
	"net/netip"
	"testing"
)

func TestARPConflict(t *testing.T) {
	self := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	other := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	own := netip.MustParseAddr("192.0.2.2")
	reply := func(sha net.HardwareAddr, spa netip.Addr, op byte) []byte {
		b := arpProbe(sha, netip.MustParseAddr("0.0.0.0"))
		b[14+7] = op
		ip := spa.As4()
		copy(b[14+14:], ip[:])
		return b
	}
	tests := []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"other host answers our probe", reply(other, own, arpReply), true},
		{"other host announces our address", reply(other, own, arpRequest), true},
		{"other host probes for our address", arpProbe(other, own), true},
		{"our own probe", arpProbe(self, own), false},
		{"reply for another address", reply(other, netip.MustParseAddr("192.0.2.9"), arpReply), false},
		{"runt", []byte{1, 2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, mac, got := arpConflict(tt.frame, self, []netip.Addr{own})
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if got && (addr != own || mac.String() != other.String()) {
				t.Errorf("got %s from %s, want %s from %s", addr, mac, own, other)
			}
		})
	}
}

func TestARPProbeLayout(t *testing.T) {
	src := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	b := arpProbe(src, netip.MustParseAddr("192.0.2.2"))
	if len(b) != 42 {
		t.Fatalf("got %d bytes, want 42", len(b))
	}
	// RFC 5227 section 2.1.1: sender IP all zero, target IP the address.
	if got := netip.AddrFrom4([4]byte(b[28:32])); !got.IsUnspecified() {
		t.Errorf("got sender IP %s, want 0.0.0.0", got)
	}
	if got := netip.AddrFrom4([4]byte(b[38:42])); got.String() != "192.0.2.2" {
		t.Errorf("got target IP %s, want 192.0.2.2", got)
	}
}
