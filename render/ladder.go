package render

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// LadderText prints one reset as a person debugging it wants to see it:
// the connection's packets around the reset as a ladder between client and
// server (Wireshark's flow graph in text), then the verdict, its evidence,
// the alternatives, the advice and the Wireshark filter.
type LadderText struct {
	// Color adds ANSI colour; set it only when writing to a terminal.
	Color bool
}

const (
	ansiYellow = "\x1b[33m"
	// ladderArrow is the width of an arrow between the two columns: wide
	// enough for the longest label ("FIN PSH ACK seq 4294967295 ack …").
	ladderArrow = 64
)

// Render writes f and its ladder l (nil when it could not be drawn).
func (t LadderText) Render(w io.Writer, f *report.Finding, l *report.Ladder) error {
	tx := Text{Color: t.Color}
	var b strings.Builder
	code := ansiRed
	if f.Benign {
		code = ansiDim
	}
	fmt.Fprintf(&b, "%s %s#%d %s: %s by %s (%.2f)%s\n", tx.paint(ansiBold, "reset"), prefix(f.File), f.Frame,
		f.Time.UTC().Format("2006-01-02 15:04:05.000000"), tx.paint(code, string(f.Cause)), f.Sender, f.Confidence, benignNote(f))
	if l == nil {
		b.WriteString("  (no ladder: the connection's packets could not be read again)\n")
	} else {
		t.ladder(&b, l)
	}
	if len(f.Evidence) > 0 {
		b.WriteString("\nEvidence:\n")
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
	}
	if len(f.Alternatives) > 0 {
		b.WriteString("Also possible: " + alternatives(f.Alternatives) + "\n")
	}
	if len(f.Advice) > 0 {
		b.WriteString("Next:\n")
		for _, a := range f.Advice {
			fmt.Fprintf(&b, "  - %s\n", a)
		}
	}
	if f.Filter != "" {
		fmt.Fprintf(&b, "Wireshark: %s\n", f.Filter)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func benignNote(f *report.Finding) string {
	if f.Benign {
		return ", benign"
	}
	return ""
}

func alternatives(as []report.Alternative) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("%s (%.2f)", a.Cause, a.Probability)
	}
	return strings.Join(parts, ", ")
}

// ladder writes the arrows: one line per packet, client on the left.
func (t LadderText) ladder(b *strings.Builder, l *report.Ladder) {
	tx := Text{Color: t.Color}
	const lead = "    frame          Δt  " // marker, frame, time since the previous packet
	left, right := "client "+l.Client, "server "+l.Server
	fmt.Fprintf(b, "\n%s%s%*s\n", lead, left, ladderArrow-len(left), right)
	if l.Earlier > 0 {
		fmt.Fprintf(b, "%*s… %d earlier packet(s) of the connection not shown\n", utf8.RuneCountInString(lead), "", l.Earlier)
	}
	var cited []string
	var prev time.Time
	after := false
	for i := range l.Packets {
		p := &l.Packets[i]
		if p.After && !after {
			after = true
			fmt.Fprintf(b, "%*s%s\n", utf8.RuneCountInString(lead), "", tx.paint(ansiDim, "· · · after the reset (the look-ahead the verdict weighed) · · ·"))
		}
		dt := ""
		if !prev.IsZero() {
			dt = "+" + seconds(p.Time.Sub(prev))
		}
		prev = p.Time
		mark := "  "
		switch {
		case p.Reset:
			mark = "▶ "
		case p.Cited != "":
			mark = "* "
			cited = append(cited, fmt.Sprintf("frame %d: %s", p.Frame, p.Cited))
		}
		row := fmt.Sprintf("%s%7d %11s  %s", mark, p.Frame, dt, arrow(p))
		switch {
		case p.Reset:
			row = tx.paint(ansiRed+ansiBold, row)
		case p.Cited != "":
			row = tx.paint(ansiYellow, row)
		case p.After:
			row = tx.paint(ansiDim, row)
		}
		b.WriteString(row + "\n")
	}
	for _, c := range cited {
		fmt.Fprintf(b, "  * %s\n", c)
	}
}

// arrow draws one packet between the columns.
func arrow(p *report.LadderPacket) string {
	label := " " + ladderLabel(p) + " "
	fill := ladderArrow - 3 - len([]rune(label))
	if fill < 2 {
		fill = 2
	}
	line := "-"
	if p.Reset {
		line = "="
	}
	if p.FromClient {
		return "|" + line + line + label + strings.Repeat(line, fill-1) + ">|"
	}
	return "|<" + line + line + label + strings.Repeat(line, fill-1) + "|"
}

// ladderLabel is what an arrow says: flags, relative seq/ack, length,
// window, TTL and IP ID.
func ladderLabel(p *report.LadderPacket) string {
	var b strings.Builder
	b.WriteString(flagNames(p.Flags))
	fmt.Fprintf(&b, " seq %d", p.Seq)
	if p.Flags.Has(packet.ACK) {
		fmt.Fprintf(&b, " ack %d", p.Ack)
	}
	if p.Len > 0 {
		fmt.Fprintf(&b, " len %d", p.Len)
	}
	fmt.Fprintf(&b, " win %d ttl %d", p.Window, p.TTL)
	if !p.IPv6 {
		fmt.Fprintf(&b, " id %d", p.IPID)
	}
	return b.String()
}

// flagNames spells a packet's flags as Wireshark's info column does.
func flagNames(f packet.Flags) string {
	names := [...]struct {
		f packet.Flags
		n string
	}{{packet.FIN, "FIN"}, {packet.SYN, "SYN"}, {packet.RST, "RST"}, {packet.PSH, "PSH"}, {packet.ACK, "ACK"},
		{packet.URG, "URG"}, {packet.ECE, "ECE"}, {packet.CWR, "CWR"}, {packet.NS, "NS"}}
	var parts []string
	for _, x := range names {
		if f.Has(x.f) {
			parts = append(parts, x.n)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// seconds formats a duration as seconds with microseconds, as captures count.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.6f", d.Seconds())
}

// causeTitle is the vocabulary's title for a cause.
func causeTitle(id cause.ID) string { return cause.Lookup(id).Title }
