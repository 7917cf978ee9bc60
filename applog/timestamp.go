package applog

import (
	"sync"
	"time"
)

// TimeOptions say how to read times that do not carry all their parts.
type TimeOptions struct {
	// Loc is the zone of times written without one (nginx's error log, Go's
	// log package, syslog, haproxy); nil means UTC.
	Loc *time.Location
	// Ref is a time near the logs (the capture's first packet, or now): a
	// syslog time without a year gets the year that puts it nearest Ref.
	// Zero means the current year.
	Ref time.Time

	// cache remembers the last whole seconds read (see secCache); one
	// goroutine's copy of the options owns it.
	cache *secCache
}

func (o *TimeOptions) secs() *secCache {
	if o == nil {
		return nil
	}
	return o.cache
}

// secCache keeps the last few whole seconds clock turned into a time:
// time.Date (and the Day check after it) was a third of reading a log's
// times, and a busy log writes hundreds of lines in each second, in a few
// formats at once. time.Date(…, s, ns, loc) is time.Date(…, s, 0, loc)
// plus ns (it finds the zone's offset for the whole second), so a hit is
// exactly what time.Date gives, DST included.
type secCache struct {
	keys  [4]secKey
	times [4]time.Time
	ok    [4]bool
	next  int
}

// secKey packs a whole second's fields in one word (compared as two
// words; as seven fields the comparison was a tenth of the index's time).
type secKey struct {
	loc *time.Location
	v   int64
}

// withCache returns a copy of o whose reads are cached, for one goroutine.
func (o TimeOptions) withCache() TimeOptions {
	o.cache = &secCache{}
	return o
}

func (o *TimeOptions) loc() *time.Location {
	if o == nil || o.Loc == nil {
		return time.UTC
	}
	return o.Loc
}

// scanLimit is how far into a line a leading timestamp is looked for: the
// longest prefix before one in the formats we read is redis's "pid:role "
// or a syslog "<PRI>1 " header, well under this.
const scanLimit = 48

// ParseTime finds the time a log line was written. It knows the formats of
// the programs whose resets we explain:
//
//	2026/11/30 05:00:01 [error] …                    nginx error log, Go's log package (with .000001)
//	10.0.0.1 - - [30/Nov/2026:05:00:01 +0000] "GET…  nginx/apache common and combined access log
//	… [30/Nov/2026:05:00:01.234] fe be/srv 0/0/1/-1/5001 … haproxy (the time is accept + the last timer)
//	2026-11-30T05:00:01.234Z …                       RFC 3339, also with a space, a comma, ±hhmm, " UTC"
//	[2026-11-30T05:00:01.234Z] "GET / HTTP/1.1" 503 UC 0 95 5 …   Envoy (start + duration)
//	Nov 30 05:00:01 host prog[1]: …                  syslog without a year (year from Ref)
//	Nov 30 2026 05:00:01 …, 2026 Nov 30 05:00:01 …   syslog with a year
//	123:M 30 Nov 2026 05:00:01.234 * …               redis
//	{"time":"2026-11-30T05:00:01Z", …}               JSON lines (time, ts, timestamp, @timestamp, t, __REALTIME_TIMESTAMP)
//
// It returns false when the line has no time it recognises.
func ParseTime(b []byte, o *TimeOptions) (time.Time, bool) {
	if len(b) > 0 && b[0] == '{' {
		t, _, ok := jsonLine(b, o)
		return t, ok
	}
	// haproxy's own date (ms, and the timers to its end) beats the coarser
	// syslog header in front of it.
	if t, ok := haproxyTime(b, o); ok {
		return t, true
	}
	n := min(len(b), scanLimit)
	for i := 0; i < n; i++ {
		if i > 0 && !isSep(b[i-1]) {
			continue
		}
		if t, _, ok := timeAt(b[i:], o); ok {
			if i == 1 && b[0] == '[' {
				t = t.Add(envoyDuration(b))
			}
			return t, true
		}
	}
	// An access log's [30/Nov/2026:05:00:01 +0000] after a long client
	// address or user name.
	if t, _, ok := bracketTime(b, o); ok {
		return t, true
	}
	return time.Time{}, false
}

func isSep(c byte) bool {
	switch c {
	case ' ', '\t', '[', '(', '<', '>', '"', '|', ',', ';', '=':
		return true
	}
	return false
}

// timeAt parses a timestamp that starts at b[0] and returns its length.
func timeAt(b []byte, o *TimeOptions) (time.Time, int, bool) {
	if len(b) < 8 {
		return time.Time{}, 0, false
	}
	if isDigit(b[0]) {
		if y, ok := num(b, 0, 4); ok && len(b) >= 19 {
			switch b[4] {
			case '-':
				return isoTime(b, y, o)
			case '/':
				return slashTime(b, y, o)
			case ' ': // 2026 Nov 30 05:00:01
				if m, ok := month(b[5:]); ok && len(b) >= 20 && b[8] == ' ' {
					if d, ok := day(b[9:11]); ok && b[11] == ' ' {
						return clock(b, 12, y, m, d, o.loc(), o.secs())
					}
				}
			}
		}
		return dayFirst(b, o)
	}
	if m, ok := month(b); ok && len(b) >= 15 && b[3] == ' ' {
		d, ok := day(b[4:6])
		if !ok || b[6] != ' ' {
			return time.Time{}, 0, false
		}
		if y, ok := num(b, 7, 4); ok && len(b) >= 20 && b[11] == ' ' { // Nov 30 2026 05:00:01
			return clock(b, 12, y, m, d, o.loc(), o.secs())
		}
		t, n, ok := clock(b, 7, 0, m, d, o.loc(), o.secs())
		if !ok {
			return t, n, false
		}
		return withYear(t, o), n, true
	}
	return time.Time{}, 0, false
}

// isoTime reads 2026-11-30[T ]05:00:01[.,frac][Z|±hh:mm|±hhmm| UTC| GMT].
func isoTime(b []byte, y int, o *TimeOptions) (time.Time, int, bool) {
	mo, ok1 := num(b, 5, 2)
	d, ok2 := num(b, 8, 2)
	if !ok1 || !ok2 || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') {
		return time.Time{}, 0, false
	}
	return clock(b, 11, y, time.Month(mo), d, o.loc(), o.secs())
}

// slashTime reads 2026/11/30 05:00:01[.frac] (nginx error log, Go log).
func slashTime(b []byte, y int, o *TimeOptions) (time.Time, int, bool) {
	mo, ok1 := num(b, 5, 2)
	d, ok2 := num(b, 8, 2)
	if !ok1 || !ok2 || b[7] != '/' || b[10] != ' ' {
		return time.Time{}, 0, false
	}
	return clock(b, 11, y, time.Month(mo), d, o.loc(), o.secs())
}

// dayFirst reads 30/Nov/2026:05:00:01[.frac][ ±hhmm] (access logs, haproxy)
// and 30 Nov 2026 05:00:01[.frac] (redis).
func dayFirst(b []byte, o *TimeOptions) (time.Time, int, bool) {
	if len(b) < 20 {
		return time.Time{}, 0, false
	}
	d, ok := num(b, 0, 2)
	if !ok || (b[2] != '/' && b[2] != ' ') || b[6] != b[2] {
		return time.Time{}, 0, false
	}
	m, ok := month(b[3:])
	if !ok {
		return time.Time{}, 0, false
	}
	y, ok := num(b, 7, 4)
	if !ok || (b[11] != ':' && b[11] != ' ') {
		return time.Time{}, 0, false
	}
	return clock(b, 12, y, m, d, o.loc(), o.secs())
}

// clock reads HH:MM:SS[.,frac] at b[i:] and an optional zone after it; y 0
// means no year was written (the caller supplies one).
func clock(b []byte, i, y int, m time.Month, d int, loc *time.Location, c *secCache) (time.Time, int, bool) {
	if len(b) < i+8 || b[i+2] != ':' || b[i+5] != ':' {
		return time.Time{}, 0, false
	}
	h, ok1 := num(b, i, 2)
	mi, ok2 := num(b, i+3, 2)
	s, ok3 := num(b, i+6, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || s > 60 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, 0, false
	}
	j := i + 8
	ns := 0
	if j < len(b) && (b[j] == '.' || b[j] == ',') && j+1 < len(b) && isDigit(b[j+1]) {
		j++
		scale := 100000000
		for ; j < len(b) && isDigit(b[j]); j++ {
			ns += int(b[j]-'0') * scale
			scale /= 10
		}
	}
	if off, n, ok := zone(b[j:]); ok {
		loc = off
		j += n
	}
	if y == 0 {
		y = 2000 // a leap year, so Feb 29 survives until withYear
	}
	k := secKey{loc, ((((int64(y)*13+int64(m))*32+int64(d))*24+int64(h))*60+int64(mi))*61 + int64(s)}
	if c != nil {
		for i := range c.keys {
			if c.keys[i] == k && c.keys[i].loc != nil {
				if !c.ok[i] {
					return time.Time{}, 0, false
				}
				return c.times[i].Add(time.Duration(ns)), j, true
			}
		}
	}
	t := time.Date(y, m, d, h, mi, s, 0, loc)
	ok := t.Day() == d // not 31 Nov and the like
	if c != nil {
		c.keys[c.next], c.times[c.next], c.ok[c.next] = k, t, ok
		c.next = (c.next + 1) % len(c.keys)
	}
	if !ok {
		return time.Time{}, 0, false
	}
	return t.Add(time.Duration(ns)), j, true
}

var utc = time.UTC

// zone reads Z, ±hh:mm, ±hhmm, or " ±hhmm", " UTC", " GMT", " Z".
func zone(b []byte) (*time.Location, int, bool) {
	if len(b) == 0 {
		return nil, 0, false
	}
	if b[0] == 'Z' {
		return utc, 1, true
	}
	skip := 0
	if b[0] == ' ' && len(b) >= 4 {
		if string(b[1:4]) == "UTC" || string(b[1:4]) == "GMT" {
			return utc, 4, true
		}
		skip = 1
	}
	c := b[skip:]
	if len(c) < 5 || (c[0] != '+' && c[0] != '-') {
		return nil, 0, false
	}
	h, ok1 := num(c, 1, 2)
	colon := 0
	if c[3] == ':' {
		colon = 1
	}
	if len(c) < 5+colon {
		return nil, 0, false
	}
	mi, ok2 := num(c, 3+colon, 2)
	if !ok1 || !ok2 || h > 14 || mi > 59 {
		return nil, 0, false
	}
	// " -0500" after a time is a zone only in the space-separated access-log
	// form; elsewhere a digit must not follow.
	n := skip + 5 + colon
	if n < len(b) && isDigit(b[n]) {
		return nil, 0, false
	}
	off := (h*60 + mi) * 60
	if c[0] == '-' {
		off = -off
	}
	if off == 0 {
		return utc, n, true
	}
	return fixedZone(off), n, true
}

// zones keeps one Location per offset: a log's lines share one, and
// time.FixedZone allocates.
var zones sync.Map

func fixedZone(off int) *time.Location {
	if l, ok := zones.Load(off); ok {
		return l.(*time.Location)
	}
	l, _ := zones.LoadOrStore(off, time.FixedZone("", off))
	return l.(*time.Location)
}

// withYear gives a year-less time the year that puts it nearest o.Ref.
func withYear(t time.Time, o *TimeOptions) time.Time {
	ref := time.Now()
	if o != nil && !o.Ref.IsZero() {
		ref = o.Ref
	}
	ref = ref.In(t.Location())
	best := time.Time{}
	for _, y := range [3]int{ref.Year() - 1, ref.Year(), ref.Year() + 1} {
		c := time.Date(y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
		if c.Day() != t.Day() {
			continue // Feb 29 in a common year
		}
		if best.IsZero() || absDur(c.Sub(ref)) < absDur(best.Sub(ref)) {
			best = c
		}
	}
	return best
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// monthKeys are the names in months packed as month packs them.
var monthKeys = func() (k [12]uint32) {
	for i, m := range months {
		k[i] = uint32(m[0])<<16 | uint32(m[1])<<8 | uint32(m[2])
	}
	return k
}()

// month reads a month's English abbreviation. It compares the three bytes
// packed in one word: comparing them name by name was a third of reading
// an access log line's time (November is the eleventh name).
func month(b []byte) (time.Month, bool) {
	if len(b) < 3 || b[0] < 'A' || b[0] > 'S' {
		return 0, false
	}
	k := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	for i, m := range monthKeys {
		if k == m {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

// day reads a day of the month, two digits or space-padded (syslog's "Nov  3").
func day(b []byte) (int, bool) {
	if b[0] == ' ' && isDigit(b[1]) {
		return int(b[1] - '0'), true
	}
	return num(b, 0, 2)
}

func num(b []byte, i, n int) (int, bool) {
	if len(b) < i+n {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
