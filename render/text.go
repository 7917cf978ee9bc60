package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/rstscope/rstscope/report"
)

// Text renders a report for a person: a summary first (resets by cause and
// sender, the listeners and hosts most involved, what is benign and what
// deserves attention), then one line per reset with evidence and advice.
type Text struct {
	// Color adds ANSI colour; set it only when writing to a terminal.
	Color bool
}

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
	fmt.Fprintf(&b, "%s %d file(s), %d packets (%d TCP), %d connections, %d resets: %d benign, %d deserve attention\n",
		t.paint(ansiBold, "rstscope:"), len(s.Files), s.Packets, s.TCPPackets, s.Connections, s.Resets, s.Benign, s.Attention)
	for _, f := range s.Files {
		var notes []string
		if f.Truncated > 0 {
			notes = append(notes, fmt.Sprintf("%d packets cut by the snaplen", f.Truncated))
		}
		if f.Fragments > 0 {
			notes = append(notes, fmt.Sprintf("%d non-first fragments skipped", f.Fragments))
		}
		if f.Undecoded > 0 {
			notes = append(notes, fmt.Sprintf("%d packets undecodable", f.Undecoded))
		}
		if f.Evicted > 0 {
			notes = append(notes, fmt.Sprintf("%d connections evicted by --max-conns", f.Evicted))
		}
		if f.Error != "" {
			notes = append(notes, t.paint(ansiRed, strings.TrimPrefix(f.Error, f.File+": ")))
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, "  %s: %s\n", f.File, strings.Join(notes, "; "))
		}
	}
	if s.Resets == 0 {
		b.WriteString("\nNo TCP resets found.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("\nResets by cause:\n")
	for _, c := range s.ByCause {
		fmt.Fprintf(&b, "  %-24s %6d\n", c.Key, c.Count)
	}
	b.WriteString("Resets by sender:\n")
	for _, c := range s.BySender {
		fmt.Fprintf(&b, "  %-24s %6d\n", c.Key, c.Count)
	}
	b.WriteString("Servers most involved:   " + joinCounts(s.Listeners) + "\n")
	b.WriteString("Addresses sending most:  " + joinCounts(s.Hosts) + "\n")

	var attention, benign []*report.Finding
	for i := range r.Findings {
		if r.Findings[i].Benign {
			benign = append(benign, &r.Findings[i])
		} else {
			attention = append(attention, &r.Findings[i])
		}
	}
	if len(attention) > 0 {
		fmt.Fprintf(&b, "\n%s (%d):\n", t.paint(ansiBold, "Deserve attention"), len(attention))
		for _, f := range attention {
			t.line(&b, f)
		}
	}
	if len(benign) > 0 {
		fmt.Fprintf(&b, "\n%s (%d): expected behaviour, listed for completeness\n", t.paint(ansiBold, "Benign"), len(benign))
		for _, f := range benign {
			t.line(&b, f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// line writes one reset: where, who, why, the evidence and the first advice.
func (t Text) line(b *strings.Builder, f *report.Finding) {
	code := ansiRed
	if f.Benign {
		code = ansiDim
	}
	fmt.Fprintf(b, "  %s#%d %s  %s -> %s  %s by %s (%.2f)",
		prefix(f.File), f.Frame, f.Time.UTC().Format("15:04:05.000000"), f.From, peerOf(f),
		t.paint(code, string(f.Cause)), f.Sender, f.Confidence)
	if len(f.Evidence) > 0 {
		fmt.Fprintf(b, ": %s", strings.Join(f.Evidence, "; "))
	}
	if len(f.Advice) > 0 {
		fmt.Fprintf(b, ". Next: %s", f.Advice[0])
	}
	b.WriteByte('\n')
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

func joinCounts(cs []report.Count) string {
	if len(cs) == 0 {
		return "-"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s (%d)", c.Key, c.Count)
	}
	return strings.Join(parts, ", ")
}
