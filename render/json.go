package render

import (
	"encoding/json"
	"io"

	"github.com/rstscope/rstscope/report"
)

// JSON writes the whole report as one indented JSON document.
func JSON(w io.Writer, r *report.Report) error {
	if r.Findings == nil {
		r.Findings = []report.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// NDJSON writes one finding per line, as soon as each is ready.
type NDJSON struct {
	w   io.Writer
	buf []byte // reused for every line
}

// NewNDJSON returns a streaming finding writer.
func NewNDJSON(w io.Writer) *NDJSON { return &NDJSON{w: w} }

// Write writes one finding and its newline.
func (n *NDJSON) Write(f report.Finding) error {
	n.buf = append(f.AppendJSON(n.buf[:0]), '\n')
	_, err := n.w.Write(n.buf)
	return err
}
