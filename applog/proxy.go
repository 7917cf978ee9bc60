package applog

import (
	"bytes"
	"time"
)

// bracketLimit is how far into a line a bracketed date is looked for: an
// access log puts the client address (up to 45 bytes for IPv6), ident and
// user before it; a syslog header (≤ 64 bytes) precedes haproxy's.
const bracketLimit = 256

// haproxyLine reads a haproxy session log line (httplog or tcplog):
//
//	10.0.0.1:54321 [30/Nov/2026:05:00:01.234] fe be/srv 0/0/1/-1/5001 504 194 - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"
//	10.0.0.1:54321 [30/Nov/2026:05:00:01.234] fe be/srv 1/0/5001 0 sD 1/1/0/0/0 0/0
//
// The date is when the session (tcplog) or request (httplog) started; the
// last timer (Tt or Ta, ms) is how long it lasted, so their sum is when
// haproxy ended it — the reset's moment. state is the termination state
// (two or four characters), "" when absent.
func haproxyLine(b []byte, o *TimeOptions) (end time.Time, state string, ok bool) {
	return haproxyRead(b, o, true)
}

// haproxyRead is haproxyLine; withState false leaves the state out (a
// time alone needs only the first four fields after the date: splitting
// twelve for every haproxy line was most of reading their times).
func haproxyRead(b []byte, o *TimeOptions, withState bool) (end time.Time, state string, ok bool) {
	lim := b[:min(len(b), bracketLimit)]
	for i := 0; ; {
		j := bytes.IndexByte(lim[i:], '[')
		if j < 0 {
			return time.Time{}, "", false
		}
		i += j + 1
		// dd/Mon/yyyy:hh:mm:ss.mmm] — haproxy's own form, with milliseconds.
		if len(b) < i+25 || b[i+2] != '/' || b[i+20] != '.' || b[i+24] != ']' {
			continue
		}
		t, n, ok := dayFirst(b[i:], o)
		if !ok || n != 24 {
			continue
		}
		rest := b[i+25:]
		var buf [12][]byte
		f := buf[:0:4]
		if withState {
			f = buf[:0]
		}
		f = fields(rest, f)
		if len(f) < 4 || bytes.IndexByte(f[1], '/') < 0 {
			continue // not "frontend backend/server timers"
		}
		ms, ok := lastTimer(f[2])
		if !ok {
			continue
		}
		end = t.Add(time.Duration(ms) * time.Millisecond)
		for _, tok := range f[3:] {
			if withState && isTermState(tok) {
				state = string(tok)
				break
			}
		}
		return end, state, true
	}
}

func haproxyTime(b []byte, o *TimeOptions) (time.Time, bool) {
	t, _, ok := haproxyRead(b, o, false)
	return t, ok
}

// lastTimer reads the last number of "0/0/1/-1/5001" (a leading + means the
// value was truncated by option logasap; it is still the best we have).
func lastTimer(tok []byte) (int, bool) {
	k := bytes.LastIndexByte(tok, '/')
	if k < 0 {
		return 0, false
	}
	v := tok[k+1:]
	if len(v) > 0 && v[0] == '+' {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 9 {
		return 0, false
	}
	n, ok := num(v, 0, len(v))
	return n, ok
}

// isTermState recognises haproxy's termination state: the first character
// says what ended the session (C client abort, S server abort, c/s a
// client/server timeout, P proxy, R resource, I internal, D down, L local,
// K killed, U up/down), the second the phase (R request, Q queue,
// C connect, H headers, D data, L last data, T tarpit); with cookies, two
// more. "--" and "----" are a normal end.
func isTermState(tok []byte) bool {
	if len(tok) != 2 && len(tok) != 4 {
		return false
	}
	if bytes.IndexByte([]byte("CSPLRIDKUcs-"), tok[0]) < 0 || bytes.IndexByte([]byte("RQCHDLT-"), tok[1]) < 0 {
		return false
	}
	if len(tok) == 4 && (bytes.IndexByte([]byte("NIDVEOUP-"), tok[2]) < 0 || bytes.IndexByte([]byte("NIUDPR-"), tok[3]) < 0) {
		return false
	}
	return true
}

// envoyLine reads Envoy's default access log:
//
//	[2026-11-30T05:00:01.234Z] "GET / HTTP/1.1" 503 UC 0 95 5 - "-" "curl/8.0" …
//
// after the start time: response code, response flags, bytes received,
// bytes sent, duration (ms). It returns the duration and the flags ("-"
// when none).
func envoyLine(b []byte) (d time.Duration, flags string, ok bool) {
	i := bytes.Index(b[:min(len(b), 64)], []byte(`] "`))
	if i < 0 || b[0] != '[' {
		return 0, "", false
	}
	rest := b[i+3:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return 0, "", false
	}
	var buf [5][]byte
	f := fields(rest[q+1:], buf[:0])
	if len(f) < 5 {
		return 0, "", false
	}
	if _, ok := num(f[0], 0, len(f[0])); !ok || len(f[0]) != 3 {
		return 0, "", false
	}
	ms, ok := num(f[4], 0, len(f[4]))
	if !ok || len(f[4]) > 9 {
		return 0, string(f[1]), true
	}
	return time.Duration(ms) * time.Millisecond, string(f[1]), true
}

func envoyDuration(b []byte) time.Duration {
	d, _, _ := envoyLine(b)
	return d
}

// bracketTime finds a [date] in the first bracketLimit bytes.
func bracketTime(b []byte, o *TimeOptions) (time.Time, int, bool) {
	lim := b[:min(len(b), bracketLimit)]
	for i := 0; ; {
		j := bytes.IndexByte(lim[i:], '[')
		if j < 0 {
			return time.Time{}, 0, false
		}
		i += j + 1
		if i < len(b) && isDigit(b[i]) {
			if t, n, ok := timeAt(b[i:], o); ok {
				return t, i + n, true
			}
		}
	}
}

// fields splits b on spaces into at most cap(out) fields appended to out,
// which the caller owns (an array on its stack: no allocation per line).
func fields(b []byte, out [][]byte) [][]byte {
	for len(b) > 0 && len(out) < cap(out) {
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		// A byte loop: fields are a few bytes long, shorter than
		// IndexByte's setup pays for.
		k := 0
		for k < len(b) && b[k] != ' ' {
			k++
		}
		if k > 0 {
			out = append(out, b[:k])
		}
		b = b[k:]
	}
	return out
}
