package lab

import (
	"net/netip"
	"testing"
)

func TestParseTraceLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want KernelEvent
		ok   bool
	}{
		{
			name: "send reset ipv4",
			line: `          <idle>-0       [001] ..s2.  4711.000001: tcp_send_reset: skbaddr=000000001f2e3d4c skaddr=0000000000000000 src=10.99.2.2:8099 dest=10.99.1.2:42502 state=UNKNOWN reason=NO_SOCKET`,
			want: KernelEvent{Event: "tcp_send_reset", Src: "10.99.2.2:8099", Dst: "10.99.1.2:42502", State: "UNKNOWN", Reason: "NO_SOCKET"},
			ok:   true,
		},
		{
			name: "send reset ipv6 listener",
			line: `  lab.test-123 [000] ..... 1.5: tcp_send_reset: skbaddr=00000000a skaddr=00000000b src=[::]:8099 dest=[::]:0 state=TCP_LISTEN reason=INVALID_SYN`,
			want: KernelEvent{Event: "tcp_send_reset", Src: "[::]:8099", Dst: "[::]:0", State: "TCP_LISTEN", Reason: "INVALID_SYN"},
			ok:   true,
		},
		{
			name: "receive reset ipv6",
			line: `  <idle>-0 [000] ..s2. 9.9: tcp_receive_reset: family=AF_INET6 sport=8099 dport=50218 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd99:0:0:2::2 daddrv6=fd99:0:0:2::3 sock_cookie=4012`,
			want: KernelEvent{Event: "tcp_receive_reset", Src: "[fd99:0:0:2::2]:8099", Dst: "[fd99:0:0:2::3]:50218"},
			ok:   true,
		},
		{
			name: "receive reset ipv4",
			line: `  x-1 [001] ..s2. 9.9: tcp_receive_reset: family=AF_INET sport=42502 dport=8099 saddr=10.99.1.2 daddr=10.99.2.2 saddrv6=::ffff:10.99.1.2 daddrv6=::ffff:10.99.2.2 sock_cookie=1`,
			want: KernelEvent{Event: "tcp_receive_reset", Src: "10.99.1.2:42502", Dst: "10.99.2.2:8099"},
			ok:   true,
		},
		{name: "header", line: "# tracer: nop", ok: false},
		{name: "other event", line: " x-1 [001] ..... 1.0: tcp_probe: family=AF_INET", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTraceLine(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v, want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestKernelEventInvolves(t *testing.T) {
	lab := []netip.Addr{netip.MustParseAddr("10.99.1.2"), netip.MustParseAddr("fd99:0:0:2::2")}
	tests := []struct {
		name string
		ev   KernelEvent
		want bool
	}{
		{"lab address", KernelEvent{Src: "10.99.2.9:8099", Dst: "10.99.1.2:2"}, true},
		{"lab ipv6", KernelEvent{Src: "[fd99:0:0:2::2]:8099", Dst: "[fd99::9]:2"}, true},
		{"wildcard listener on the lab port", KernelEvent{Src: "0.0.0.0:8099", Dst: "0.0.0.0:0"}, true},
		{"wildcard listener elsewhere", KernelEvent{Src: "[::]:443", Dst: "[::]:0"}, false},
		{"someone else's loopback", KernelEvent{Src: "127.0.0.1:8099", Dst: "127.0.0.1:5"}, false},
		{"another run's port", KernelEvent{Src: "10.99.2.2:12345", Dst: "10.99.1.2:40000"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ev.involves(lab, 8099); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKernelWantCheck(t *testing.T) {
	one := 1
	zero := 0
	tests := []struct {
		name  string
		want  kernelWant
		truth KernelTruth
		errs  int
	}{
		{"reason present", kernelWant{reasons: []string{"NO_SOCKET"}}, KernelTruth{Reasons: []string{"TCP_STATE", "NO_SOCKET"}}, 0},
		{"reason missing", kernelWant{reasons: []string{"NO_SOCKET"}}, KernelTruth{Reasons: []string{"TCP_STATE"}}, 1},
		{"netfilter only", kernelWant{noSendReset: true, counter: true}, KernelTruth{NFTCounter: &one}, 0},
		{"netfilter but tcp reset too", kernelWant{noSendReset: true, counter: true}, KernelTruth{Reasons: []string{"NO_SOCKET"}, NFTCounter: &one}, 1},
		{"counter did not count", kernelWant{counter: true}, KernelTruth{NFTCounter: &zero}, 1},
		{"no counter at all", kernelWant{counter: true}, KernelTruth{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.want.check(tt.truth); len(got) != tt.errs {
				t.Errorf("got %d errors (%v), want %d", len(got), got, tt.errs)
			}
		})
	}
}
