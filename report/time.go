package report

import "time"

// The instants RFC 3339 can write: years 0000 to 9999.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// ClampTime brings t into the years RFC 3339 can write, so that no output
// format fails on a time: encoding/json refuses year 10000 outright ("year
// outside of range [0,9999]"), and a whole report was lost to one such
// frame. Readers flag impossible times where they read them (see
// capture.Reader.Next); this is the renderers' backstop.
func ClampTime(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t
}
