package report

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rstscope/rstscope/cause"
)

// AppendJSON appends f as one JSON object, exactly as encoding/json would
// write it (field order, omitempty, HTML-safe escaping), without reflection:
// encoding/json's reflection and its compaction of the result took about
// 3.6 µs of each finding's 4 µs of NDJSON output on bench/out/traffic.pcap.
func (f *Finding) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":`...)
	b = appendTime(b, f.Time)
	if f.Frame != 0 {
		b = append(b, `,"frame":`...)
		b = strconv.AppendUint(b, f.Frame, 10)
	}
	b = appendOptString(b, `,"file":`, f.File)
	b = appendField(b, `,"client":`, f.Client)
	b = appendField(b, `,"server":`, f.Server)
	b = appendField(b, `,"from":`, f.From)
	b = appendOptString(b, `,"direction":`, f.Direction)
	b = appendField(b, `,"sender":`, string(f.Sender))
	b = appendField(b, `,"cause":`, string(f.Cause))
	b = append(b, `,"confidence":`...)
	b = appendFloat(b, f.Confidence)
	b = appendStrings(b, `,"evidence":`, f.Evidence)
	b = appendAdvice(b, f.Advice)
	b = append(b, `,"benign":`...)
	b = strconv.AppendBool(b, f.Benign)
	b = appendOptString(b, `,"kernel_reason":`, f.KernelReason)
	b = appendOptString(b, `,"wireshark_filter":`, f.Filter)
	b = appendOptString(b, `,"state":`, f.State)
	if f.NetNS != 0 {
		b = append(b, `,"netns":`...)
		b = strconv.AppendUint(b, f.NetNS, 10)
	}
	if f.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(f.PID), 10)
	}
	b = appendOptString(b, `,"command":`, f.Command)
	b = appendOptString(b, `,"cgroup":`, f.Cgroup)
	b = appendOptString(b, `,"context":`, f.Context)
	if len(f.Alternatives) > 0 {
		b = append(b, `,"alternatives":[`...)
		for i, a := range f.Alternatives {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendField(b, `{"cause":`, string(a.Cause))
			b = append(b, `,"probability":`...)
			b = appendFloat(b, a.Probability)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(f.Sightings) > 0 {
		b = append(b, `,"sightings":[`...)
		for i, s := range f.Sightings {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendField(b, `{"file":`, s.File)
			b = append(b, `,"frame":`...)
			b = strconv.AppendUint(b, s.Frame, 10)
			b = append(b, `,"time":`...)
			b = appendTime(b, s.Time)
			b = append(b, `,"ttl":`...)
			b = strconv.AppendUint(b, uint64(s.TTL), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(f.Logs) > 0 {
		b = append(b, `,"logs":[`...)
		for i, l := range f.Logs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendField(b, `{"file":`, l.File)
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, int64(l.Line), 10)
			b = append(b, `,"time":`...)
			b = appendTime(b, l.Time)
			b = appendField(b, `,"text":`, l.Text)
			b = appendField(b, `,"matched_by":`, l.MatchedBy)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// MarshalJSON makes encoding/json use AppendJSON too, so every format
// writes a finding the same way.
func (f Finding) MarshalJSON() ([]byte, error) { return f.AppendJSON(make([]byte, 0, 512)), nil }

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	if t = ClampTime(t); t.Location() == time.UTC {
		b = appendUTC(b, t)
	} else {
		b = t.AppendFormat(b, time.RFC3339Nano)
	}
	return append(b, '"')
}

// appendUTC writes t, a UTC time in the years 0 to 9999, as
// t.AppendFormat(b, time.RFC3339Nano) does, which was 6 % of watch's CPU
// per reset (--cpuprofile of a flood; every live finding is in UTC).
func appendUTC(b []byte, t time.Time) []byte {
	secs := t.Unix()
	days := secs / 86400
	if secs%86400 < 0 {
		days--
	}
	sod := secs - days*86400
	// Days since 1970-01-01 to a civil date: Howard Hinnant's
	// civil_from_days, with eras of 400 years from 0000-03-01.
	z := days + 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
		y++
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+sod/36000), byte('0'+sod/3600%10), ':', byte('0'+sod%3600/600), byte('0'+sod%600/60), ':',
		byte('0'+sod%60/10), byte('0'+sod%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

func appendField(b []byte, name, s string) []byte {
	b = append(b, name...)
	return appendString(b, s)
}

func appendOptString(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendField(b, name, s)
}

// vocabularyAdvice holds each cause's advice already encoded, keyed by its
// first string's address in the vocabulary: a finding's advice is the
// vocabulary's own slice (cause.Lookup copies the header, not the strings),
// and escaping the same few hundred bytes for every finding was most of
// appendString's time under a flood (watch --cpuprofile).
var vocabularyAdvice = func() map[*string]encodedAdvice {
	m := make(map[*string]encodedAdvice, len(cause.Vocabulary))
	for i := range cause.Vocabulary {
		if adv := cause.Vocabulary[i].Advice; len(adv) > 0 {
			m[&adv[0]] = encodedAdvice{len(adv), appendStrings(nil, `,"advice":`, adv)}
		}
	}
	return m
}()

type encodedAdvice struct {
	n    int
	json []byte
}

// appendAdvice writes the advice field, from vocabularyAdvice when ss is
// a cause's whole advice as the vocabulary holds it.
func appendAdvice(b []byte, ss []string) []byte {
	if len(ss) > 0 {
		if e, ok := vocabularyAdvice[&ss[0]]; ok && e.n == len(ss) {
			return append(b, e.json...)
		}
	}
	return appendStrings(b, `,"advice":`, ss)
}

func appendStrings(b []byte, name string, ss []string) []byte {
	b = append(b, name...)
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendFloat writes a float64 as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	// Confidences are hundredths (0.95, 0.2): written directly they skip
	// strconv's shortest-digits search, 5 % of watch's per-reset time
	// (BenchmarkKernelFinding). k/100 is then the shortest decimal that
	// reads back as f, which is what strconv would write.
	if f > 0 && f <= 1 {
		if k := int(f*100 + 0.5); float64(k)/100 == f {
			if k == 100 {
				return append(b, '1')
			}
			b = append(b, '0', '.', byte('0'+k/10))
			if k%10 != 0 {
				b = append(b, byte('0'+k%10))
			}
			return b
		}
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// encoding/json writes e-07, not e-7: clean up the exponent.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// plainJSON marks the ASCII bytes appendString copies as they are: one
// table lookup per byte instead of six comparisons (evidence strings are
// most of a finding's bytes; BenchmarkAppendString).
var plainJSON = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// Bytes repeated in each of a uint64's eight.
const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// plain8 reports whether all 8 bytes of s are plainJSON, a word at a time:
// evidence lines are ASCII and mostly plain, so a few word operations
// replace eight table lookups and branches.
// hasZero(v) is exact about whether some byte of v is zero, which is all
// plain8 asks.
func plain8(s string) bool {
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	if x&hi8 != 0 { // not ASCII
		return false
	}
	// With every byte below 0x80, x-0x20 borrows into a byte's top bit
	// exactly where that byte is below 0x20.
	if (x-0x20*lo8)&^x&hi8 != 0 {
		return false
	}
	// '"' (0x22) and '&' (0x26) are the two bytes that OR 0x04 makes 0x26;
	// '<' (0x3c) and '>' (0x3e) the two that OR 0x02 makes 0x3e.
	return !hasZero((x|0x04*lo8)^('&'*lo8)) && !hasZero((x|0x02*lo8)^('>'*lo8)) && !hasZero(x^('\\'*lo8))
}

func hasZero(v uint64) bool { return (v-lo8)&^v&hi8 != 0 }

// appendString writes s as a JSON string with encoding/json's escaping:
// quotes, backslashes, control characters, <, > and & (HTML-safe), U+2028
// and U+2029, and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainJSON[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
