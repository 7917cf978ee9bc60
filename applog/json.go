package applog

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeKeys are the fields JSON loggers put the time in, in the order they
// are tried: journald's export (µs since the epoch, as a string), Docker's
// json-file driver, logrus/slog ("time"), zap ("ts", seconds as a float),
// Elastic ("@timestamp"), and a few more.
var timeKeys = []string{"__REALTIME_TIMESTAMP", "time", "ts", "timestamp", "@timestamp", "t", "date", "datetime"}

// jsonLine reads one JSON log record: its time, and the text to show — the
// message for journald ("unit: message") and Docker (the "log" field), the
// whole record otherwise (structured loggers put the addresses in other
// fields).
func jsonLine(b []byte, o *TimeOptions) (time.Time, string, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return time.Time{}, "", false
	}
	var t time.Time
	ok := false
	for _, k := range timeKeys {
		raw, found := m[k]
		if !found {
			continue
		}
		if k == "__REALTIME_TIMESTAMP" {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				if us, err := strconv.ParseInt(s, 10, 64); err == nil {
					t, ok = time.UnixMicro(us).UTC(), true
				}
			}
		} else {
			t, ok = jsonTimeValue(raw, o)
		}
		if ok {
			break
		}
	}
	if msg, found := m["MESSAGE"]; found {
		return t, journalText(m, msg), ok
	}
	if raw, found := m["log"]; found {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return t, strings.TrimRight(s, "\r\n"), ok
		}
	}
	return t, string(b), ok
}

// jsonTimeValue reads a time given as a string in any format ParseTime
// knows, or as a number of seconds (or ms, µs, ns by its size) since the epoch.
func jsonTimeValue(raw json.RawMessage, o *TimeOptions) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}, false
		}
		t, _, ok := timeAt([]byte(s), o)
		return t, ok
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	switch {
	case f > 1e17:
		return time.Unix(0, int64(f)).UTC(), true
	case f > 1e14:
		return time.UnixMicro(int64(f)).UTC(), true
	case f > 1e11:
		return time.UnixMilli(int64(f)).UTC(), true
	case f > 1e8:
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	return time.Time{}, false
}

// journalText is "unit: message" for a journald record; MESSAGE is a
// string, or an array of bytes when the message was not valid UTF-8.
func journalText(m map[string]json.RawMessage, msg json.RawMessage) string {
	var s string
	if json.Unmarshal(msg, &s) != nil {
		var bs []byte
		var arr []int
		if json.Unmarshal(msg, &arr) == nil {
			bs = make([]byte, 0, len(arr))
			for _, v := range arr {
				bs = append(bs, byte(v))
			}
		}
		s = string(bs)
	}
	who := ""
	for _, k := range []string{"_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_COMM"} {
		if raw, found := m[k]; found && json.Unmarshal(raw, &who) == nil && who != "" {
			break
		}
	}
	if who == "" {
		return s
	}
	return who + ": " + s
}
