package main

import (
	"testing"
	"time"
)

// TestParse reads trace lines written by hand in the tracepoints' print
// formats (events/tcp/*/format on Linux 6.18): a dual-stack peer, an IPv6
// tcp_receive_reset, and the mono-to-wall offset.
func TestParse(t *testing.T) {
	off := 1000 * time.Second
	tests := []struct{ line, want string }{
		{
			"<idle>-0 [001] ..s2. 12.000345: tcp_send_reset: skbaddr=0000 skaddr=0000 src=10.1.0.2:8083 dest=[::ffff:10.1.0.1]:40000 state=TCP_CLOSE reason=TCP_ABORT_ON_CLOSE",
			"1012.000345000\ttcp_send_reset\t10.1.0.2:8083\t[::ffff:10.1.0.1]:40000\tTCP_CLOSE\tTCP_ABORT_ON_CLOSE\n",
		},
		{
			"trafficgen-77 [000] b..1. 5.5: tcp_receive_reset: family=AF_INET6 sport=40000 dport=8083 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd79:1::1 daddrv6=fd79:1::2 sock_cookie=7",
			"1005.500000000\ttcp_receive_reset\t[fd79:1::1]:40000\t[fd79:1::2]:8083\t-\t-\n",
		},
	}
	for _, tt := range tests {
		got, ok := parse(tt.line, off)
		if !ok || got != tt.want {
			t.Errorf("parse(%q):\n got %q, %t\nwant %q", tt.line, got, ok, tt.want)
		}
	}
	if _, ok := parse("<idle>-0 [001] ..s2. 12.0: sched_switch: prev=a", off); ok {
		t.Error("parse accepted a line of another event")
	}
}
