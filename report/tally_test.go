package report

import (
	"strconv"
	"strings"
	"testing"
)

// TestSortFindingsConnections: files analysed at once hand their findings
// and connections over interleaved; the report puts both in the files'
// order, keeping each file's own order of connections.
func TestSortFindingsConnections(t *testing.T) {
	r := Report{
		Summary:  Summary{Files: []FileStats{{File: "a.pcap"}, {File: "b.pcap"}}},
		Findings: []Finding{{File: "b.pcap", Frame: 2}, {File: "a.pcap", Frame: 9}, {File: "a.pcap", Frame: 3}},
		Connections: []ConnSummary{{File: "b.pcap", UID: "b1"}, {File: "a.pcap", UID: "a1"}, {File: "b.pcap", UID: "b2"},
			{File: "a.pcap", UID: "a2"}},
	}
	r.SortFindings()
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.File+"#"+strconv.FormatUint(f.Frame, 10))
	}
	for _, c := range r.Connections {
		got = append(got, c.UID)
	}
	if want := "a.pcap#3 a.pcap#9 b.pcap#2 a1 a2 b1 b2"; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
}
