package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/report"
)

// TestTextFileProblems: a file's problems are one line that names the file once.
func TestTextFileProblems(t *testing.T) {
	r := &report.Report{Summary: report.Summary{Files: []report.FileStats{
		{File: "cut.pcap", Packets: 8, Truncated: 2, Error: "cut.pcap: file is truncated: cut after frame 8"},
	}}}
	r.Tally()
	var b bytes.Buffer
	if err := (Text{}).Render(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "  cut.pcap: 2 packets cut by the snaplen; file is truncated: cut after frame 8\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("got\n%s\nwant a line %q", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour without Color set")
	}
}
