package applog

import (
	"testing"
	"time"
)

// Every line below was written by hand in the format its program documents
// (nginx ngx_log_error, log_format combined; haproxy's httplog and tcplog;
// redis serverLogRaw; Envoy's default access log; RFC 3164 and 5424
// syslog; Go's log.LstdFlags|log.Lmicroseconds; Python logging's default
// asctime; log4j's ISO8601; PostgreSQL's log_line_prefix '%m [%p] ';
// journald's export; Docker's json-file; CRI's log format).
func TestParseTime(t *testing.T) {
	est := time.FixedZone("", -5*3600)
	ref := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return v
	}
	tests := []struct {
		name string
		line string
		loc  *time.Location
		want time.Time
	}{
		{"nginx error", `2026/11/30 05:00:01 [error] 812#812: *3 upstream prematurely closed connection while reading response header from upstream, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://10.0.0.2:8080/", host: "10.0.0.3"`, nil, at("2026-11-30T05:00:01Z")},
		{"nginx error, zone from flag", `2026/11/30 05:00:01 [error] 812#812: *3 recv() failed (104: Connection reset by peer)`, est, at("2026-11-30T10:00:01Z")},
		{"combined access", `10.0.0.1 - - [30/Nov/2026:05:00:01 +0000] "GET / HTTP/1.1" 502 157 "-" "curl/8.5.0"`, nil, at("2026-11-30T05:00:01Z")},
		{"access, zone in line beats flag", `10.0.0.1 - bob [30/Nov/2026:05:00:01 -0500] "GET / HTTP/1.1" 499 0 "-" "-"`, time.UTC, at("2026-11-30T10:00:01Z")},
		{"access after a long IPv6 client and user", `2001:db8:ffff:ffff:ffff:ffff:ffff:1 - a-very-long-user-name-indeed-it-is [30/Nov/2026:05:00:01 +0100] "GET / HTTP/1.1" 200 1 "-" "-"`, nil, at("2026-11-30T04:00:01Z")},
		{"haproxy httplog: accept + Ta", `10.0.0.1:54321 [30/Nov/2026:05:00:01.234] fe be/srv1 0/0/1/-1/5001 504 194 - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`, nil, at("2026-11-30T05:00:06.235Z")},
		{"haproxy tcplog via syslog: haproxy's own date wins", `Nov 30 05:00:07 lb haproxy[99]: 10.0.0.1:54321 [30/Nov/2026:05:00:01.234] fe be/srv1 1/0/5001 0 sD 1/1/0/0/0 0/0`, nil, at("2026-11-30T05:00:06.235Z")},
		{"haproxy logasap +Tt", `10.0.0.1:54321 [30/Nov/2026:05:00:01.000] fe be/srv1 1/0/+250 0 -- 1/1/0/0/0 0/0`, nil, at("2026-11-30T05:00:01.25Z")},
		{"RFC 3339 nano", `2026-11-30T05:00:01.123456789Z level=error msg="read: connection reset by peer"`, nil, at("2026-11-30T05:00:01.123456789Z")},
		{"RFC 3339 offset", `2026-11-30T06:00:01.5+01:00 ERROR x`, nil, at("2026-11-30T05:00:01.5Z")},
		{"ISO with +hhmm (log4j)", `2026-11-30T06:00:01.500+0100 [main] ERROR c.e.App - java.net.SocketException: Connection reset`, nil, at("2026-11-30T05:00:01.5Z")},
		{"Python asctime, comma", `2026-11-30 05:00:01,250 ERROR app: ConnectionResetError: [Errno 104] Connection reset by peer`, nil, at("2026-11-30T05:00:01.25Z")},
		{"PostgreSQL %m UTC", `2026-11-30 05:00:01.250 UTC [4321] LOG:  could not receive data from client: Connection reset by peer`, time.Local, at("2026-11-30T05:00:01.25Z")},
		{"Go log with microseconds", `2026/11/30 05:00:01.000250 read tcp 10.0.0.3:8080->10.0.0.1:54321: read: connection reset by peer`, nil, at("2026-11-30T05:00:01.00025Z")},
		{"Go log with prefix", `api: 2026/11/30 05:00:01 write tcp 10.0.0.3:8080->10.0.0.1:54321: write: broken pipe`, nil, at("2026-11-30T05:00:01Z")},
		{"syslog without year", `Nov 30 05:00:01 db redis[7]: Client closed connection`, nil, at("2026-11-30T05:00:01Z")},
		{"syslog without year, padded day", `Dec  3 05:00:01 host kernel: TCP: too many orphaned sockets`, nil, at("2026-12-03T05:00:01Z")},
		{"syslog without year, last December seen in January", `Dec 31 23:59:59 host app: x`, nil, at("2025-12-31T23:59:59Z")},
		{"syslog with year after day", `Nov 30 2026 05:00:01 host app: x`, nil, at("2026-11-30T05:00:01Z")},
		{"syslog with year first", `2026 Nov 30 05:00:01 host app: x`, nil, at("2026-11-30T05:00:01Z")},
		{"RFC 5424", `<134>1 2026-11-30T05:00:01.234Z lb haproxy 99 - - 10.0.0.1:54321 closed`, nil, at("2026-11-30T05:00:01.234Z")},
		{"redis", `4242:M 30 Nov 2026 05:00:01.234 # Error accepting a client connection: max number of clients reached`, nil, at("2026-11-30T05:00:01.234Z")},
		{"envoy: start + duration", `[2026-11-30T05:00:01.234Z] "GET / HTTP/1.1" 503 UC 0 95 5 - "-" "curl/8.5.0" "id" "10.0.0.3" "10.0.0.2:8080"`, nil, at("2026-11-30T05:00:01.239Z")},
		{"JSON time", `{"time":"2026-11-30T05:00:01.5Z","level":"error","msg":"broken pipe"}`, nil, at("2026-11-30T05:00:01.5Z")},
		{"JSON zap ts seconds", `{"level":"error","ts":1796014801.5,"msg":"x"}`, nil, at("2026-11-30T05:00:01.5Z")},
		{"JSON @timestamp", `{"@timestamp":"2026-11-30T05:00:01.000Z","message":"x"}`, nil, at("2026-11-30T05:00:01Z")},
		{"journald export", `{"__REALTIME_TIMESTAMP":"1796014801250000","_SYSTEMD_UNIT":"nginx.service","MESSAGE":"x"}`, nil, at("2026-11-30T05:00:01.25Z")},
		{"docker json-file", `{"log":"2026/11/30 05:00:09 x\n","stream":"stderr","time":"2026-11-30T05:00:01.25Z"}`, nil, at("2026-11-30T05:00:01.25Z")},
		{"CRI", `2026-11-30T05:00:01.250000000Z stderr F connection reset by peer`, nil, at("2026-11-30T05:00:01.25Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &TimeOptions{Loc: tt.loc, Ref: ref}
			if tt.name == "syslog without year, last December seen in January" {
				o.Ref = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
			}
			got, ok := ParseTime([]byte(tt.line), o)
			if !ok {
				t.Fatalf("no time found in %q", tt.line)
			}
			if !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got.UTC(), tt.want)
			}
		})
	}
}

func TestParseTimeRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"just text without a time",
		"2026/13/30 05:00:01 month 13",
		"2026-11-31T05:00:01Z thirty-first of November",
		"2026-11-30T25:00:01Z hour 25",
		"Foo 30 05:00:01 not a month",
		"\tat com.example.App.run(App.java:42)",
		"version 1.2.3.4:5 released",
	} {
		if got, ok := ParseTime([]byte(line), nil); ok {
			t.Errorf("%q: got time %v, want none", line, got)
		}
	}
}

// BenchmarkParseTime times the line kinds bench/loggen writes, through an
// indexing goroutine's cached options (docs/logs.md has the figures).
func BenchmarkParseTime(b *testing.B) {
	for _, tt := range []struct{ name, line string }{
		{"nginx-error", `2026/11/30 07:26:00 [error] 9#9: *1 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.77.0.1, upstream: "http://10.77.0.2:8001/"`},
		{"access", `10.77.0.1 - - [30/Nov/2026:07:26:00 +0000] "GET /api/v1/items/0 HTTP/1.1" 200 512 "-" "curl/8.5.0"`},
		{"haproxy", `10.77.0.1:43833 [30/Nov/2026:07:25:59.417] fe be/s1 0/0/1/583/584 200 100 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`},
		{"go", `2026/11/30 07:26:00.000417 http: read tcp 10.77.0.2:8001->10.77.0.1:43833: read: connection reset by peer`},
	} {
		b.Run(tt.name, func(b *testing.B) {
			o := TimeOptions{Loc: time.UTC}.withCache()
			line := []byte(tt.line)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := ParseTime(line, &o); !ok {
					b.Fatal("no time")
				}
			}
		})
	}
}
