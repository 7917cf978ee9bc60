package flow

import (
	"net/netip"
	"testing"
)

func TestKeySymmetry(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		name string
		a, b netip.AddrPort
	}{
		{"ipv4", ap("10.0.0.1:40000"), ap("10.0.0.2:80")},
		{"ipv4, same address, ports decide", ap("127.0.0.1:5000"), ap("127.0.0.1:80")},
		{"ipv6", ap("[2001:db8::1]:443"), ap("[2001:db8::2]:50000")},
		{"ipv4-mapped against ipv6", ap("[::ffff:10.0.0.1]:1"), ap("[2001:db8::2]:2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k1, low1 := MakeKey(tc.a, tc.b)
			k2, low2 := MakeKey(tc.b, tc.a)
			if k1 != k2 {
				t.Errorf("MakeKey(a, b) = %v, MakeKey(b, a) = %v, want equal", k1, k2)
			}
			if low1 == low2 {
				t.Errorf("low side: got %v both ways, want opposite", low1)
			}
		})
	}
	k1, _ := MakeKey(ap("10.0.0.1:1"), ap("10.0.0.2:2"))
	k2, _ := MakeKey(ap("10.0.0.1:2"), ap("10.0.0.2:1"))
	if k1 == k2 {
		t.Errorf("swapping ports between hosts gave the same key %v", k1)
	}
}
