package render

import (
	"fmt"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// The geometry of the page's two pictures. The template draws them; the
// numbers are computed here so that the template stays free of arithmetic.

type timelineView struct {
	Width, Height, PlotTop, PlotBottom, Left int
	Bars                                     []barView
	Ticks                                    []tickView
	YMax                                     int
	Step                                     string
}

type barView struct {
	Slice int
	X, W  int
	Total int
	Title string
	Segs  []segView
}

type segView struct {
	Cause string
	Y, H  int
	Color string
	Title string
}

type tickView struct {
	X     int
	Label string
}

// timelineSVG lays the timeline's slices out as stacked bars.
func timelineSVG(tl *report.Timeline, colors map[cause.ID]string) *timelineView {
	const width, left, top, bottom = 1200, 44, 8, 150
	v := &timelineView{Width: width, Height: bottom + 24, PlotTop: top, PlotBottom: bottom, Left: left, Step: tl.Step.String()}
	n := len(tl.Counts)
	if n == 0 {
		return v
	}
	peak, _ := busiest(tl)
	v.YMax = max(peak, 1)
	slot := float64(width-left-4) / float64(n)
	bw := max(int(slot*0.8), 1)
	format := "15:04:05"
	if tl.Step < time.Second {
		format = "15:04:05.000"
	}
	for i, row := range tl.Counts {
		x := left + int(float64(i)*slot)
		from := tl.Start.Add(time.Duration(i) * tl.Step)
		b := barView{Slice: i, X: x, W: bw}
		y := bottom
		for j, c := range row {
			if c == 0 {
				continue
			}
			b.Total += c
			h := max(c*(bottom-top)/v.YMax, 1)
			y -= h
			id := tl.Causes[j]
			b.Segs = append(b.Segs, segView{Cause: string(id), Y: y, H: h, Color: colors[id],
				Title: fmt.Sprintf("%d × %s from %s (click to show only these)", c, id, from.UTC().Format(format))})
		}
		b.Title = fmt.Sprintf("%d resets from %s", b.Total, from.UTC().Format(format))
		v.Bars = append(v.Bars, b)
	}
	every := max(n/6, 1)
	for i := 0; i < n; i += every {
		v.Ticks = append(v.Ticks, tickView{X: left + int(float64(i)*slot), Label: tl.Start.Add(time.Duration(i) * tl.Step).UTC().Format(format)})
	}
	return v
}

type ladderView struct {
	Width, Height    int
	ClientX, ServerX int
	Client, Server   string
	Earlier          int
	Rows             []ladderRow
	AfterY           int // the line where the look-ahead begins, 0 for none
	AfterLabelY      int
	ColBottom        int
	Cited            []string
}

type ladderRow struct {
	Y          int // the arrow's line; the row's other parts are placed from it
	FromClient bool
	Label      string
	Frame      uint64
	DT         string
	Class      string
	Cited      string
}

// ladder geometry: a gutter for frame and Δt, then the client's and the
// server's columns; 26 px per packet keeps a 40-packet ladder about as
// tall as a laptop screen. The arrows themselves are drawn once, in the
// page's <defs> (#lc from the client, #ls from the server), and each row
// uses one: it halved the bytes of a ladder (18 kB to 9 kB for 39 rows).
// The template's defs repeat these numbers.
const (
	ladderWidth = 780
	ladderRowH  = 26
	ladderTop   = 40
	clientX     = 180
	serverX     = 770
)

// ladderSVG lays a ladder out: one arrow per packet.
func ladderSVG(l *report.Ladder) *ladderView {
	v := &ladderView{Width: ladderWidth, ClientX: clientX, ServerX: serverX, Client: l.Client, Server: l.Server, Earlier: l.Earlier}
	y := ladderTop
	if l.Earlier > 0 {
		y += ladderRowH / 2
	}
	var prev time.Time
	for i := range l.Packets {
		p := &l.Packets[i]
		if p.After && v.AfterY == 0 {
			// A line under the reset's row, its label below it, then
			// the look-ahead's rows.
			v.AfterY = y + 9
			v.AfterLabelY = y + 21
			y += 14
		}
		y += ladderRowH
		r := ladderRow{Y: y, FromClient: p.FromClient, Label: ladderLabel(p), Frame: p.Frame, Cited: p.Cited}
		if !prev.IsZero() {
			r.DT = "+" + seconds(p.Time.Sub(prev))
		}
		prev = p.Time
		switch {
		case p.Reset:
			r.Class = "rst"
		case p.Cited != "" && p.After:
			r.Class = "after cited"
		case p.Cited != "":
			r.Class = "cited"
		case p.After:
			r.Class = "after"
		}
		if p.Cited != "" && !p.Reset {
			v.Cited = append(v.Cited, fmt.Sprintf("frame %d: %s", p.Frame, p.Cited))
		}
		v.Rows = append(v.Rows, r)
	}
	v.Height = y + 14
	v.ColBottom = y + 8
	return v
}
