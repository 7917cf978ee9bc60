package diagnose

import (
	"strings"
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// TestMergeSightings: which capture's verdict a joined finding keeps.
func TestMergeSightings(t *testing.T) {
	m := &merger{c: &captures{}}
	client := report.Finding{File: "client.pcap", Frame: 8, Cause: cause.HalfOpen, Sender: cause.Server, Confidence: 0.7, Evidence: []string{"a"}}
	server := report.Finding{File: "server.pcap", Frame: 9, Cause: cause.ApplicationAbort, Sender: cause.Server, Confidence: 0.6, Evidence: []string{"b"}}
	unknown := report.Finding{File: "tap.pcap", Frame: 3, Cause: cause.Unknown, Sender: cause.SenderUnknown, Confidence: 0.9}
	same := client
	same.File, same.Frame = "server.pcap", 9
	tests := []struct {
		name     string
		in       []report.Finding
		wantFile string
		wantNote string // evidence the merge adds, "" for none
	}{
		{"the higher confidence wins", []report.Finding{server, client}, "client.pcap", "server.pcap alone suggested application-abort by server"},
		{"a named cause beats a surer unknown", []report.Finding{unknown, server}, "server.pcap", "tap.pcap alone suggested unknown by unknown"},
		{"agreeing captures add nothing", []report.Finding{client, same}, "client.pcap", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.mergeSightings(tt.in)
			if got.File != tt.wantFile {
				t.Errorf("kept %s's finding, want %s's", got.File, tt.wantFile)
			}
			note := ""
			for _, e := range got.Evidence {
				if strings.Contains(e, "alone suggested") {
					note = e
				}
			}
			if note != tt.wantNote {
				t.Errorf("got evidence note %q, want %q", note, tt.wantNote)
			}
		})
	}
	// The merge must not write into the kept finding's evidence array,
	// which its analyzer may share.
	ev := make([]string, 1, 4)
	ev[0] = "x"
	a := client
	a.Evidence = ev
	m.mergeSightings([]report.Finding{a, server})
	if got := ev[:2][1]; got != "" {
		t.Errorf("merge wrote %q into the finding's own evidence array", got)
	}
}
