package render

import (
	_ "embed"
	"html/template"
	"io"

	"github.com/rstscope/rstscope/report"
)

//go:embed templates/report.html
var reportHTML string

// htmlReport is the page: one self-contained file, no scripts, no CDN.
// html/template escapes every field, so evidence quoting a reset's payload
// cannot inject markup.
var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"peer":  func(f report.Finding) string { return peerOf(&f) },
	"notes": fileNotes,
}).Parse(reportHTML))

// HTML writes the report as one HTML page.
func HTML(w io.Writer, r *report.Report) error { return htmlReport.Execute(w, r) }
