package diagnose

import (
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// TestMergeTieKeepsFirstFile: two captures' findings of one reset that
// tie on cause, confidence and nearness to the sender merge to the finding
// of the file named first, whatever order the analyses delivered them in
// (on two cores that order varies from run to run).
func TestMergeTieKeepsFirstFile(t *testing.T) {
	m := &merger{c: &captures{files: map[string]int{"client.pcap": 0, "server.pcap": 1}}}
	a := report.Finding{File: "client.pcap", Frame: 7, Cause: cause.ApplicationAbort, Confidence: 0.55, Evidence: []string{"from the client's capture"}}
	b := report.Finding{File: "server.pcap", Frame: 9, Cause: cause.ApplicationAbort, Confidence: 0.55, Evidence: []string{"from the server's capture"}}
	for _, order := range [][]report.Finding{{a, b}, {b, a}} {
		if got := m.mergeSightings(order); got.File != "client.pcap" || got.Frame != 7 {
			t.Errorf("merging %s then %s kept %s frame %d, want client.pcap frame 7", order[0].File, order[1].File, got.File, got.Frame)
		}
	}
	// A named cause still wins over the order of the files.
	u := a
	u.Cause = cause.Unknown
	if got := m.mergeSightings([]report.Finding{u, b}); got.File != "server.pcap" {
		t.Errorf("unknown against a named cause kept %s, want server.pcap", got.File)
	}
}
