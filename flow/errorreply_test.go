package flow

import "testing"

// TestErrorReply: replies written by hand as nginx, haproxy and redis
// send them, and payloads that must not count as the start of a reply.
func TestErrorReply(t *testing.T) {
	tests := []struct {
		payload       string
		starts, isErr bool
	}{
		{"HTTP/1.1 413 Request Entity Too Large\r\nServer: nginx\r\n", true, true},
		{"HTTP/1.1 503 Service Unavailable\r\n", true, true},
		{"HTTP/1.0 400 Bad request\r\n", true, true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", true, false},
		{"HTTP/1.1 100 Continue\r\n\r\n", true, false},
		{"HTTP/1.1 301 Moved Permanently\r\n", true, false},
		{"-ERR max number of clients reached\r\n", true, true},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", true, true},
		{"-NOAUTH Authentication required.\r\n", true, true},
		{"+OK\r\n", true, false},
		{"+PONG\r\n", true, false},
		{":1000\r\n", true, false},
		{"$5\r\nhello\r\n", true, false},
		{"$-1\r\n", true, false},
		{"*2\r\n$3\r\nfoo\r\n", true, false},
		// memcached at its connection limit (bench/realtruth
		// memcached-maxconns, as captured), and its other replies.
		{"ERROR Too many open connections\r\n", true, true},
		{"ERROR\r\n", true, true},
		{"SERVER_ERROR out of memory storing object\r\n", true, true},
		{"CLIENT_ERROR line too long\r\n", true, true},
		{"STORED\r\n", true, false},
		{"VALUE k 0 5\r\nhello\r\nEND\r\n", true, false},
		{"END\r\n", true, false},
		{"ERRORS are mine", false, false}, // not memcached's word
		// pgbouncer's query_wait_timeout (bench/realtruth
		// pgbouncer-query-wait-timeout, as captured): an ErrorResponse,
		// severity FATAL; postgres' own with its V field first.
		{"E\x00\x00\x00\x27SFATAL\x00C08P01\x00Mquery_wait_timeout\x00\x00", true, true},
		{"E\x00\x00\x00\x20VERROR\x00C57014\x00Mcanceled\x00\x00", true, true},
		{"Z\x00\x00\x00\x05I", true, false},                              // ReadyForQuery
		{"C\x00\x00\x00\x0dSELECT 1\x00Z\x00\x00\x00\x05I", true, false}, // CommandComplete, then ReadyForQuery
		{"D\x00\x00\x10\x00\x00\x01", false, false},                      // a frame the segment does not hold: not judged
		{"GET / HTTP/1.1\r\n", false, false},                             // a request, not a reply
		{"HTTP/1.1 4130 x", false, false},                                // not a status line
		{"HTTP/2.0 500 x\r\n", false, false},                             // not HTTP/1.x text
		{"-1\r\n", false, false},                                         // not an error code
		{"-Er", false, false},                                            // lower case
		{"\x16\x03\x01\x02\x00\x01\x00", false, false},                   // a TLS record
		{"", false, false},
	}
	for _, tt := range tests {
		starts, isErr := errorReply([]byte(tt.payload))
		if starts != tt.starts || isErr != tt.isErr {
			t.Errorf("%q: starts %t error %t, want %t %t", tt.payload, starts, isErr, tt.starts, tt.isErr)
		}
	}
}

// FuzzErrorReply: any payload, truncated anywhere by a snap length, is
// judged without a panic, and an error is only ever a reply's start.
func FuzzErrorReply(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 413 Request Entity Too Large\r\n", "-ERR max\r\n", "+OK\r\n", "HTTP/1.1 200", "-", "HTTP/1.", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for n := 0; n <= len(b) && n <= 64; n++ {
			if starts, isErr := errorReply(b[:n]); isErr && !starts {
				t.Errorf("%q: an error that does not start a reply", b[:n])
			}
		}
	})
}
