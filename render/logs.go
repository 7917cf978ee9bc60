package render

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rstscope/rstscope/report"
)

// textLogLines is how many joined log lines the text report shows under a
// finding (JSON carries them all), and textLogWidth how much of each.
const (
	textLogLines = 2
	textLogWidth = 200
)

// logLines writes the best joined log lines under a finding (indented two
// more than its pad), one per line:
// where, when, why it was joined, and the text, with anything that could
// move a terminal's cursor or colour it shown escaped.
func (t Text) logLines(b *strings.Builder, f *report.Finding, pad string) {
	for i, l := range f.Logs {
		if i == textLogLines {
			fmt.Fprintf(b, "%s  %s\n", pad, t.paint(ansiDim, fmt.Sprintf("(%d more log lines in the JSON output)", len(f.Logs)-i)))
			break
		}
		fmt.Fprintf(b, "%s  %s %s:%d %s [%s] %s\n", pad, t.paint(ansiDim, "log"), l.File, l.Line,
			l.Time.UTC().Format("15:04:05.000"), l.MatchedBy, safeText(l.Text, textLogWidth))
	}
}

// safeText cuts s to about width bytes on a rune boundary and escapes
// control characters and invalid UTF-8 (the log reader already does; a
// finding may come from elsewhere).
func safeText(s string, width int) string {
	var b strings.Builder
	for i, r := range s {
		if b.Len() >= width {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
