package render

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

//go:embed templates/report.html
var reportHTML string

// htmlReport is the page: one self-contained file (inline CSS, a little
// inline script for the filters, SVG drawn here), nothing loaded from the
// network. html/template escapes every field, so evidence quoting a reset's
// payload cannot inject markup.
var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"peer":  func(f *report.Finding) string { return peerOf(f) },
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000") },
	"conf":  func(c float64) string { return strconv.FormatFloat(c, 'f', 2, 64) },
	"alts":  alternatives,
}).Parse(reportHTML))

// HTML writes the report as one HTML page, without ladder diagrams.
func HTML(w io.Writer, r *report.Report) error { return HTMLPage(w, r, nil) }

// HTMLPage writes the report as one HTML page; l holds the ladders of the
// resets shown (diagnose.Ladders draws them; nil draws none).
func HTMLPage(w io.Writer, r *report.Report, l *report.Ladders) error {
	return htmlReport.Execute(w, buildPage(r, l))
}

// page is what the template sees.
type page struct {
	R        *report.Report
	Verdict  string
	Alarm    bool
	Span     string
	Busiest  string
	Files    []fileRow
	Causes   []countRow
	Senders  []countRow
	Servers  []countRow
	Timeline *timelineView
	Groups   []groupView // shown in detail
	Others   []groupView // the rest, one row each
	// Unlisted counts the groups (and their resets) beyond Others.
	Unlisted, UnlistedResets int
	// Filter choices.
	CauseKeys, SenderKeys, ServerKeys []string
	Notes                             []string
	Legend                            []legendRow
}

type fileRow struct {
	File, Error string
	Packets     uint64
	Resets      int
}

type countRow struct {
	Key   string
	Count int
	Pct   int // of the largest, for the inline bar
	Color string
}

type legendRow struct {
	Cause, Title, Color string
	Benign              bool
}

type groupView struct {
	Cause                    cause.ID
	Title, Description       string
	Sender, Server           string
	Color                    string
	Count, Attention, Benign int
	Span                     string
	Slices                   string // timeline slices the group has resets in
	Frames                   string
	MoreFrames               int
	Examples                 []exampleView
	ExampleFrames            string
}

type exampleView struct {
	F      *report.Finding
	Slice  int
	Open   bool
	Ladder *ladderView
}

func buildPage(r *report.Report, l *report.Ladders) *page {
	s := &r.Summary
	p := &page{R: r}
	if l != nil {
		p.Notes = l.Notes
	}
	// What each file left out (snaplen cuts, fragments, tunnels not
	// opened, impossible timestamps, an interrupted read).
	for _, f := range s.Files {
		for _, n := range fileNotes(f) {
			p.Notes = append(p.Notes, f.File+": "+n)
		}
	}
	// The capture's span: from the second pass when there was one, else the resets'.
	var first, last time.Time
	if l != nil {
		for _, sp := range l.Spans {
			if first.IsZero() || sp.First.Before(first) {
				first = sp.First
			}
			if sp.Last.After(last) {
				last = sp.Last
			}
		}
	}
	spanOfResets := first.IsZero()
	for _, f := range s.Files {
		p.Files = append(p.Files, fileRow{File: f.File, Error: f.Error, Packets: f.Packets, Resets: f.Resets})
	}
	colors := causeColors(s.ByCause)
	max0 := func(cs []report.Count) int {
		if len(cs) == 0 {
			return 1
		}
		return max(cs[0].Count, 1)
	}
	for _, c := range s.ByCause {
		p.Causes = append(p.Causes, countRow{c.Key, c.Count, 100 * c.Count / max0(s.ByCause), colors[cause.ID(c.Key)]})
		p.CauseKeys = append(p.CauseKeys, c.Key)
		p.Legend = append(p.Legend, legendRow{c.Key, causeTitle(cause.ID(c.Key)), colors[cause.ID(c.Key)], cause.Lookup(cause.ID(c.Key)).Benign})
	}
	for _, c := range s.BySender {
		p.Senders = append(p.Senders, countRow{c.Key, c.Count, 100 * c.Count / max0(s.BySender), ""})
		p.SenderKeys = append(p.SenderKeys, c.Key)
	}
	for _, c := range s.Listeners {
		p.Servers = append(p.Servers, countRow{c.Key, c.Count, 100 * c.Count / max0(s.Listeners), ""})
	}
	if s.Resets == 0 {
		p.Verdict = "No TCP resets in this capture."
		return p
	}
	tl := r.Timeline(first, last, timelineSlices)
	p.Timeline = timelineSVG(&tl, colors)
	if spanOfResets {
		for i := range r.Findings {
			t := r.Findings[i].Time
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	p.Span = spanText(first, last, spanOfResets)
	if peak, at := busiest(&tl); peak > 1 && len(tl.Counts) > 1 {
		from := tl.Start.Add(time.Duration(at) * tl.Step)
		p.Busiest = fmt.Sprintf("busiest %s: %d resets from %s", tl.Step, peak, from.UTC().Format("15:04:05.000"))
	}
	groups := r.Groups()
	p.addGroups(r, groups, l, &tl, colors)
	p.Verdict, p.Alarm = verdict(r, groups)
	return p
}

// addGroups lays out the groups: the first DetailedGroups with their
// examples and ladders, the next otherGroups as one line each.
func (p *page) addGroups(r *report.Report, groups []report.Group, l *report.Ladders, tl *report.Timeline, colors map[cause.ID]string) {
	servers := map[string]bool{}
	for gi := range groups {
		g := &groups[gi]
		gv := groupView{Cause: g.Cause, Title: causeTitle(g.Cause), Description: cause.Lookup(g.Cause).Description,
			Sender: string(g.Sender), Server: g.Server, Color: colors[g.Cause], Count: g.Count(),
			Attention: g.Attention, Benign: g.Count() - g.Attention, Span: groupSpan(g)}
		if gi >= report.DetailedGroups+otherGroups {
			p.Unlisted++
			p.UnlistedResets += g.Count()
			continue
		}
		if !servers[g.Server] {
			servers[g.Server] = true
			p.ServerKeys = append(p.ServerKeys, g.Server)
		}
		slices := map[int]bool{}
		var sl []string
		for _, i := range g.Findings {
			k := tl.Slice(r.Findings[i].Time)
			if !slices[k] {
				slices[k] = true
				sl = append(sl, strconv.Itoa(k))
			}
		}
		gv.Slices = strings.Join(sl, " ")
		gv.Frames, gv.MoreFrames = frameList(r, g.Findings, groupFrames)
		if gi < report.DetailedGroups {
			for k, i := range g.Examples {
				f := &r.Findings[i]
				ev := exampleView{F: f, Slice: tl.Slice(f.Time), Open: k == 0}
				if ld := l.Of(f); ld != nil {
					ev.Ladder = ladderSVG(ld)
				}
				gv.Examples = append(gv.Examples, ev)
			}
			p.Groups = append(p.Groups, gv)
		} else {
			gv.ExampleFrames, _ = frameList(r, g.Examples, report.ExamplesPerGroup)
			p.Others = append(p.Others, gv)
		}
	}
}

// timelineSlices bounds the timeline's bars: 60 stay wider than 15 px at
// 1400 px, wide enough to click.
const timelineSlices = 60

// otherGroups bounds the one-line groups listed after the detailed ones:
// a capture of scans or many services makes thousands of groups, and 200
// rows were 80 kB of the 40,000-reset page (render/size_test.go).
const otherGroups = 200

// groupFrames is how many frames a group lists before "and N more": all
// of them for small captures, a line's worth for storms.
const groupFrames = 40

func frameList(r *report.Report, idx []int, n int) (string, int) {
	multi := len(r.Summary.Files) > 1
	var b strings.Builder
	for k, i := range idx {
		if k == n {
			return b.String(), len(idx) - n
		}
		if k > 0 {
			b.WriteString(", ")
		}
		f := &r.Findings[i]
		if multi {
			b.WriteString(f.File + " ")
		}
		b.WriteString("#" + strconv.FormatUint(f.Frame, 10))
	}
	return b.String(), 0
}

func verdict(r *report.Report, groups []report.Group) (string, bool) {
	s := &r.Summary
	if s.Attention == 0 {
		return fmt.Sprintf("Nothing here looks wrong: all %d resets are expected behaviour (closed ports probed, applications aborting, closes racing).", s.Resets), false
	}
	byCause := map[string]int{}
	for i := range r.Findings {
		if !r.Findings[i].Benign {
			byCause[string(r.Findings[i].Cause)]++
		}
	}
	var top []string
	for _, c := range s.ByCause {
		if n := byCause[c.Key]; n > 0 && len(top) < 3 {
			top = append(top, fmt.Sprintf("%s (%d)", c.Key, n))
		}
	}
	more := ""
	if n := len(byCause) - len(top); n > 0 {
		more = fmt.Sprintf(" and %d more cause(s)", n)
	}
	v := fmt.Sprintf("%d of %d resets deserve attention: %s%s.", s.Attention, s.Resets, strings.Join(top, ", "), more)
	// Name the largest group when it is a real cluster: a quarter of what
	// deserves attention, and more than one reset.
	if g := &groups[0]; g.Attention > 1 && 4*g.Attention >= s.Attention {
		v += fmt.Sprintf(" Largest: %d × %s sent by the %s, server %s.", g.Attention, g.Cause, g.Sender, g.Server)
	}
	return v, true
}

func spanText(first, last time.Time, ofResets bool) string {
	d := last.Sub(first).Round(time.Millisecond)
	what := ""
	if ofResets {
		what = " (first to last reset)"
	}
	end := last.UTC().Format("15:04:05")
	if last.UTC().YearDay() != first.UTC().YearDay() || last.Year() != first.Year() {
		end = last.UTC().Format("2006-01-02 15:04:05")
	}
	return fmt.Sprintf("%s – %s UTC, %s%s", first.UTC().Format("2006-01-02 15:04:05"), end, d, what)
}

func groupSpan(g *report.Group) string {
	if g.Count() == 1 {
		return g.First.UTC().Format("15:04:05.000")
	}
	return fmt.Sprintf("%s – %s", g.First.UTC().Format("15:04:05.000"), g.Last.UTC().Format("15:04:05.000"))
}

func busiest(tl *report.Timeline) (peak, at int) {
	for i, row := range tl.Counts {
		n := 0
		for _, c := range row {
			n += c
		}
		if n > peak {
			peak, at = n, i
		}
	}
	return peak, at
}

// palette colours causes in the vocabulary's order, so a cause keeps its
// colour from one report to the next; benign causes get muted tones.
var palette = map[cause.ID]string{
	cause.ClosedPort:            "#9aa5b1",
	cause.SYNConflict:           "#e6842a",
	cause.AcceptQueueOverflow:   "#d7263d",
	cause.HalfOpen:              "#8e44ad",
	cause.FirewallReject:        "#c0392b",
	cause.TimeWaitAssassination: "#b8a07e",
	cause.ApplicationAbort:      "#7fb3d5",
	cause.IdleTimeout:           "#2e86c1",
	cause.UnreadDataClose:       "#f1c40f",
	cause.DataAfterClose:        "#16a085",
	cause.Injected:              "#111111",
	cause.DuplicateIP:           "#e84393",
	cause.InvalidSegment:        "#6d4c41",
	cause.ResourceExhaustion:    "#a93226",
	cause.ListenerClosed:        "#6c5b7b",
	cause.ConnectAbandoned:      "#c8d6e5",
	cause.RetransmissionTimeout: "#0b5345",
	cause.ScanProbe:             "#d5dbdb",
	cause.Unknown:               "#cccccc",
}

func causeColors(cs []report.Count) map[cause.ID]string {
	out := map[cause.ID]string{}
	for _, c := range cs {
		id := cause.ID(c.Key)
		if col, ok := palette[id]; ok {
			out[id] = col
		} else {
			out[id] = "#777777"
		}
	}
	return out
}
