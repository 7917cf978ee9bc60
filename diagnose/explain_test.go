package diagnose

import (
	"net/netip"
	"testing"
)

func TestWiresharkFilter(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"10.0.0.1:40000", "10.0.0.2:80", "ip.addr==10.0.0.1 && tcp.port==40000 && ip.addr==10.0.0.2 && tcp.port==80"},
		{"[fd00::1]:5000", "[fd00::2]:443", "ipv6.addr==fd00::1 && tcp.port==5000 && ipv6.addr==fd00::2 && tcp.port==443"},
	}
	for _, tt := range tests {
		if got := WiresharkFilter(netip.MustParseAddrPort(tt.a), netip.MustParseAddrPort(tt.b)); got != tt.want {
			t.Errorf("WiresharkFilter(%s, %s) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte("BIG-IP: [0x11c5672:3045] {peer} TCP RST from remote system"), "BIG-IP: [0x11c5672:3045] {peer} TCP RST from remote system"},
		{[]byte{0x00, 0x01, 0x02, 0x03, 0x04}, ""},
		{[]byte("ok"), ""}, // too short to be a message
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
