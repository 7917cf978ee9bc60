package render

import (
	"time"

	"github.com/rstscope/rstscope/report"
)

// clock formats the text report's times, in UTC: the time of day alone
// when every reset falls on one date (the summary names it once), with the
// date otherwise.
type clock struct{ oneDay bool }

func newClock(fs []report.Finding) clock {
	first, last := span(fs)
	y1, m1, d1 := first.UTC().Date()
	y2, m2, d2 := last.UTC().Date()
	return clock{oneDay: y1 == y2 && m1 == m2 && d1 == d2}
}

// at is a reset's time, to the microsecond as captures stamp it.
func (c clock) at(t time.Time) string {
	if c.oneDay {
		return t.UTC().Format("15:04:05.000000")
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

// span is first to last with its length; full (the summary) adds the date
// and the zone.
func (c clock) span(first, last time.Time, full bool) string {
	layout := "15:04:05.000"
	if full || !c.oneDay {
		layout = "2006-01-02 15:04:05.000"
	}
	zone := ""
	if full {
		zone = " UTC"
	}
	if !last.After(first) {
		return first.UTC().Format(layout) + zone
	}
	endLayout := layout
	if c.oneDay {
		endLayout = "15:04:05.000"
	}
	return first.UTC().Format(layout) + " - " + last.UTC().Format(endLayout) + zone + " (" + length(last.Sub(first)) + ")"
}

// length rounds a span to what a person reads: 310ms, 14.6s, 3m12s.
func length(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// span is the earliest and latest time of the findings (captures are not
// strictly time-ordered, so not simply the first and last).
func span(fs []report.Finding) (first, last time.Time) {
	for i := range fs {
		t := fs[i].Time
		if i == 0 || t.Before(first) {
			first = t
		}
		if i == 0 || t.After(last) {
			last = t
		}
	}
	return first, last
}

// spanOf is span over a group's findings.
func spanOf(fs []*report.Finding) (first, last time.Time) {
	for i, f := range fs {
		if i == 0 || f.Time.Before(first) {
			first = f.Time
		}
		if i == 0 || f.Time.After(last) {
			last = f.Time
		}
	}
	return first, last
}
