package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rstscope/rstscope/report"
)

// Text renders a report for a person, on one screen whatever the capture's
// size: a summary (resets by cause and sender, the servers and addresses
// most involved, what is benign and what deserves attention), then the
// resets grouped by what a person acts on (see groupFindings), each group
// with its count, time span, a representative reset's evidence, the advice
// once and example frames. Every reset is listed under its group when there
// are at most ListAll of them, or with All.
type Text struct {
	// Color adds ANSI colour; set it only when writing to a terminal.
	Color bool
	// All lists every reset under its group, not only examples.
	All bool
}

// ListAll is the most resets listed one by one without All: fifty lines
// and their groups still read in a minute.
const ListAll = 50

// shownGroups is how many groups the summarised report shows: with four
// lines each and the summary's ten or so, the report stays under sixty
// lines, a screen.
const shownGroups = 8

const (
	ansiRed   = "\x1b[31m"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

func (t Text) paint(code, s string) string {
	if !t.Color {
		return s
	}
	return code + s + ansiReset
}

// Render writes the report.
func (t Text) Render(w io.Writer, r *report.Report) error {
	s := &r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d file(s), %s packets (%s TCP), %s connections, %s resets: %s deserve attention, %s benign\n",
		t.paint(ansiBold, "rstscope:"), len(s.Files), count64(s.Packets), count64(s.TCPPackets), count64(s.Connections),
		count(s.Resets), count(s.Attention), count(s.Benign))
	if s.Filters != "" {
		fmt.Fprintf(&b, "  filter:  %s: %s of %s resets\n", s.Filters, count(s.Resets), count(s.Unfiltered))
	}
	for _, f := range s.Files {
		notes := fileNotes(f)
		if f.Error != "" {
			notes = append(notes, t.paint(ansiRed, strings.TrimPrefix(f.Error, f.File+": ")))
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, "  %s: %s\n", f.File, strings.Join(notes, "; "))
		}
	}
	if s.Resets == 0 {
		if s.Filters != "" {
			b.WriteString("\nNo TCP reset matches the filter.\n")
		} else {
			b.WriteString("\nNo TCP resets found.\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	clock := newClock(r.Findings)
	first, last := span(r.Findings)
	fmt.Fprintf(&b, "  time:    %s\n", clock.span(first, last, true))
	wrapCounts(&b, "  causes:  ", s.ByCause, "")
	wrapCounts(&b, "  senders: ", s.BySender, "")
	wrapCounts(&b, "  servers: ", s.Listeners, "()")
	wrapCounts(&b, "  from:    ", s.Hosts, "()")

	groups := groupFindings(r)
	all := t.All || s.Resets <= ListAll
	files := map[string]bool{}
	for _, f := range s.Files {
		files[f.File] = true
	}
	multi := len(files) > 1
	shown := len(groups)
	if !all {
		shown = min(shown, shownGroups)
	}
	for _, benign := range []bool{false, true} {
		var in, hidden []*resetGroup
		n := 0
		for i, g := range groups {
			if g.benign != benign {
				continue
			}
			n += len(g.findings)
			if i < shown {
				in = append(in, g)
			} else {
				hidden = append(hidden, g)
			}
		}
		if n == 0 {
			continue
		}
		title, note := "Deserve attention", ""
		if benign {
			title, note = "Benign", ", expected behaviour"
		}
		fmt.Fprintf(&b, "\n%s: %s resets in %s group(s)%s\n", t.paint(ansiBold, title), count(n), count(len(in)+len(hidden)), note)
		for _, g := range in {
			t.group(&b, g, clock, all, multi)
		}
		if len(hidden) > 0 {
			t.more(&b, hidden)
		}
	}
	if shown < len(groups) {
		b.WriteString("\nShowing the largest groups; --all lists every reset, and --cause, --sender, --host, --port narrow them down.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// group writes one group: its header, then either every reset (all) or the
// representative's evidence, the advice and more example frames.
func (t Text) group(b *strings.Builder, g *resetGroup, clock clock, all, multi bool) {
	code := ansiRed
	if g.benign {
		code = ansiDim
	}
	first, last := spanOf(g.findings)
	n := count(len(g.findings))
	fmt.Fprintf(b, "  %s  %s by %s on %s  %s\n", t.paint(code, n), t.paint(code, string(g.cause)), g.sender, g.where, clock.span(first, last, false))
	pad := strings.Repeat(" ", 4+len(n))
	rep := g.representative()
	advice := ""
	if len(rep.Advice) > 0 {
		advice = pad + "next: " + rep.Advice[0] + "\n"
	}
	if all {
		b.WriteString(advice)
		for _, f := range g.findings {
			t.line(b, f, pad, clock, multi)
		}
		return
	}
	t.line(b, rep, pad, clock, multi)
	b.WriteString(advice)
	// Two more examples besides the representative: the first and last,
	// which also bound the span (or the next when the representative is one).
	var also []string
	for _, f := range g.examples(rep) {
		also = append(also, frameRef(f, multi))
	}
	if len(also) > 0 {
		more := ""
		if rest := len(g.findings) - 1 - len(also); rest > 0 {
			more = " and " + count(rest) + " more"
		}
		fmt.Fprintf(b, "%salso %s%s\n", pad, strings.Join(also, ", "), more)
	}
}

// more sums up the groups not shown in one line.
func (t Text) more(b *strings.Builder, gs []*resetGroup) {
	n := 0
	var names []string
	for i, g := range gs {
		n += len(g.findings)
		if i < 4 {
			names = append(names, fmt.Sprintf("%s by %s on %s (%s)", g.cause, g.sender, g.where, count(len(g.findings))))
		}
	}
	if len(gs) > 4 {
		names = append(names, "...")
	}
	fmt.Fprintf(b, "  + %s more group(s), %s resets: %s\n", count(len(gs)), count(n), strings.Join(names, ", "))
}

// line writes one reset: where, when, from whom to whom, confidence and evidence.
func (t Text) line(b *strings.Builder, f *report.Finding, pad string, clock clock, multi bool) {
	fmt.Fprintf(b, "%s%s %s  %s -> %s  (%.2f", pad, frameRef(f, multi), clock.at(f.Time), f.From, peerOf(f), f.Confidence)
	// Honest doubt: the causes the evidence leaves open, in short.
	for _, a := range f.Alternatives {
		fmt.Fprintf(b, "; or %s %.2f", a.Cause, a.Probability)
	}
	b.WriteByte(')')
	if len(f.Evidence) > 0 {
		fmt.Fprintf(b, " %s", strings.Join(f.Evidence, "; "))
	}
	b.WriteByte('\n')
	t.logLines(b, f, pad)
}

// frameRef names a reset's frame, with its file when there are several.
func frameRef(f *report.Finding, multi bool) string {
	if multi || f.Frame == 0 {
		if f.Frame == 0 {
			return f.File
		}
		return f.File + "#" + strconv.FormatUint(f.Frame, 10)
	}
	return "#" + strconv.FormatUint(f.Frame, 10)
}

func prefix(file string) string {
	if file == "" {
		return ""
	}
	return file + " "
}

// peerOf is the address the reset went to.
func peerOf(f *report.Finding) string {
	if f.From == f.Client {
		return f.Server
	}
	return f.Client
}

// wrapCounts writes a ranking as "key n, key n" (or "key (n)" with
// parens), wrapped under its label at about a hundred columns.
func wrapCounts(b *strings.Builder, label string, cs []report.Count, parens string) {
	if len(cs) == 0 {
		return
	}
	const width = 100
	b.WriteString(label)
	col := len(label)
	for i, c := range cs {
		item := c.Key + " " + count(c.Count)
		if parens != "" {
			item = c.Key + " (" + count(c.Count) + ")"
		}
		if i < len(cs)-1 {
			item += ","
		}
		if i > 0 {
			if col+1+len(item) > width {
				b.WriteString("\n" + strings.Repeat(" ", len(label)))
				col = len(label)
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(item)
		col += len(item)
	}
	b.WriteByte('\n')
}

func count64(n uint64) string { return count(int(n)) }
