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
type NDJSON struct{ enc *json.Encoder }

// NewNDJSON returns a streaming finding writer.
func NewNDJSON(w io.Writer) *NDJSON { return &NDJSON{enc: json.NewEncoder(w)} }

// Write writes one finding and its newline.
func (n *NDJSON) Write(f report.Finding) error { return n.enc.Encode(f) }
