package applog

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAddresses(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		ports []string
		ips   []string
	}{
		{"nginx error", `2026/11/30 05:00:01 [error] 9#9: *1 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.77.0.1, server: , request: "GET /reset HTTP/1.1", upstream: "http://10.77.0.3:9001/reset", host: "10.77.0.2:8080"`,
			[]string{"10.77.0.3:9001", "10.77.0.2:8080"}, []string{"10.77.0.1"}},
		{"haproxy", `10.77.0.1:34390 [30/Nov/2026:06:06:52.681] fe be/s1 0/0/3/-1/1004 504 198 - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`,
			[]string{"10.77.0.1:34390"}, nil},
		{"Go a->b", `2026/11/30 05:00:01 read tcp 10.0.0.3:8080->10.0.0.1:54321: read: connection reset by peer`,
			[]string{"10.0.0.3:8080", "10.0.0.1:54321"}, nil},
		{"IPv6 bracketed and bare", `client [2001:db8::1]:40000 to server 2001:db8::2 closed`,
			[]string{"[2001:db8::1]:40000"}, []string{"2001:db8::2"}},
		{"times are not addresses", `2026-11-30 05:00:01.250 UTC [4321] LOG: x`, nil, nil},
		{"a port too large is no port", `10.0.0.1:99999 x`, nil, []string{"10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports, ips := Addresses(tt.text)
			var gp, gi []string
			for _, p := range ports {
				gp = append(gp, p.String())
			}
			for _, a := range ips {
				gi = append(gi, a.String())
			}
			if !slices.Equal(gp, tt.ports) || !slices.Equal(gi, tt.ips) {
				t.Errorf("got ports %v ips %v, want %v %v", gp, gi, tt.ports, tt.ips)
			}
		})
	}
	_ = netip.Addr{}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello", "hello"},
		{"ANSI colour and clear screen", "\x1b[31mred\x1b[2J", `\x1b[31mred\x1b[2J`},
		{"NUL and bell", "a\x00b\x07", `a\x00b\x07`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"valid UTF-8 kept", "café ✓", "café ✓"},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"C1 control", "a\u009bb", `a\x9bb`},
		{"tab to space, CR escaped", "a\tb\rc", `a b\x0dc`},
	}
	for _, tt := range tests {
		if got := Sanitize([]byte(tt.in), 0); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	long := strings.Repeat("x", 5000)
	got := Sanitize([]byte(long), 100)
	if want := strings.Repeat("x", MaxText) + " … [3052 bytes cut]"; got != want {
		t.Errorf("long line: got %d bytes ending %q, want %d bytes", len(got), got[len(got)-30:], len(want))
	}
}

func TestParseLineFields(t *testing.T) {
	o := &TimeOptions{Loc: time.UTC}
	l := parseLine([]byte(`10.77.0.1:40453 [30/Nov/2026:06:07:23.574] fe be/s1 0/0/1/-1/1002 504 198 - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`), 0, o, time.Time{})
	if l.HAProxyState != "sH--" {
		t.Errorf("haproxy state: got %q, want sH--", l.HAProxyState)
	}
	l = parseLine([]byte(`10.77.0.1:40453 [30/Nov/2026:06:07:23.574] fe be/s1 1/0/5001 0 cD 1/1/0/0/0 0/0`), 0, o, time.Time{})
	if l.HAProxyState != "cD" {
		t.Errorf("haproxy tcplog state: got %q, want cD", l.HAProxyState)
	}
	l = parseLine([]byte(`[2026-11-30T05:00:01.234Z] "GET / HTTP/1.1" 503 UF,URX 0 91 1 - "-" "curl/8" "x" "y" "10.0.0.2:8080"`), 0, o, time.Time{})
	if l.EnvoyFlags != "UF,URX" {
		t.Errorf("envoy flags: got %q, want UF,URX", l.EnvoyFlags)
	}
	prev := time.Date(2026, 11, 30, 5, 0, 1, 0, time.UTC)
	l = parseLine([]byte(`Caused by: java.net.SocketException: Connection reset`), 0, o, prev)
	if !l.Inherited || !l.Time.Equal(prev) {
		t.Errorf("continuation: got %v inherited %v, want %v inherited", l.Time, l.Inherited, prev)
	}
	l = parseLine([]byte(`{"__REALTIME_TIMESTAMP":"1796014801250000","_SYSTEMD_UNIT":"nginx.service","MESSAGE":[104,105,255]}`), 0, o, prev)
	if l.Text != `nginx.service: hi\xff` {
		t.Errorf("journald byte-array message: got %q", l.Text)
	}
}

func TestTuples(t *testing.T) {
	got := Tuples(`2026/11/30 05:00:01 read tcp 10.0.0.3:8080->10.0.0.1:54321: read: connection reset by peer; write tcp [::1]:80->[::1]:5000: broken pipe; a->b`)
	want := "[[10.0.0.3:8080 10.0.0.1:54321] [[::1]:80 [::1]:5000]]"
	if s := fmt.Sprint(got); s != want {
		t.Errorf("got %s, want %s", s, want)
	}
	// redis 7.0's verbose log, as TestAnalyzeLogsRedis's server wrote it.
	got = Tuples(`13794:M 30 Nov 2026 09:10:10.370 - Client closed connection id=3 addr=10.77.0.2:43206 laddr=10.77.0.2:6379 fd=7 name= age=0`)
	if s, want := fmt.Sprint(got), "[[10.77.0.2:43206 10.77.0.2:6379]]"; s != want {
		t.Errorf("redis: got %s, want %s", s, want)
	}
}
