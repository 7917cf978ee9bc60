package applog

import (
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseLine feeds arbitrary bytes to the line parser: it must not
// panic, and what it returns must be safe to print and bounded.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`2026/11/30 05:00:01 [error] 9#9: *1 recv() failed (104: Connection reset by peer), client: 10.0.0.1, upstream: "http://10.0.0.2:8080/"`,
		`10.0.0.1:54321 [30/Nov/2026:05:00:01.234] fe be/srv1 0/0/1/-1/5001 504 194 - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`,
		`10.0.0.1 - - [30/Nov/2026:05:00:01 +0000] "GET / HTTP/1.1" 499 0 "-" "-"`,
		`[2026-11-30T05:00:01.234Z] "GET / HTTP/1.1" 503 UC 0 95 5 - "-" "curl/8.0"`,
		`Nov 30 05:00:01 host haproxy[1]: x`, `4242:M 30 Nov 2026 05:00:01.234 # max number of clients reached`,
		`{"__REALTIME_TIMESTAMP":"1796014801250000","MESSAGE":[1,2,255]}`, `{"ts":1e300}`, `{"time":"2026-11-30T05:00:01+14:59"}`,
		"read tcp [::1]:8080->[::1]:5000: read: connection reset by peer \x1b[2J\xff",
	} {
		f.Add([]byte(s))
	}
	o := &TimeOptions{Loc: time.UTC, Ref: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := parseLine(b, 0, o, time.Time{})
		if len(l.Text) > MaxText+64 {
			t.Fatalf("text of %d bytes, want at most about %d", len(l.Text), MaxText)
		}
		if !utf8.ValidString(l.Text) {
			t.Fatalf("text is not valid UTF-8: %q", l.Text)
		}
		for _, c := range []byte(l.Text) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("control byte %#x kept in %q", c, l.Text)
			}
		}
		Addresses(l.Text)
		if tm, ok := ParseTime(b, o); ok && (tm.Year() < 1 || tm.Year() > 1e4) {
			t.Fatalf("implausible time %v", tm)
		}
	})
}
