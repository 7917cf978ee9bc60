package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

func TestHTML(t *testing.T) {
	r := &report.Report{Findings: []report.Finding{
		{Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Frame: 7, File: "a.pcap", Client: "10.0.0.1:4000", Server: "10.0.0.2:80",
			From: "10.0.0.2:80", Sender: cause.Server, Cause: cause.ClosedPort, Confidence: 0.9, Benign: true,
			Evidence: []string{`reset payload: "<script>alert(1)</script>"`}, Advice: cause.Lookup(cause.ClosedPort).Advice},
		{Frame: 9, From: "10.0.0.9:80", Client: "10.0.0.8:5000", Server: "10.0.0.9:80", Sender: cause.Middlebox, Cause: cause.Injected, Confidence: 0.95},
	}}
	r.Summary.Files = []report.FileStats{{File: "a.pcap", Packets: 20, TCP: 20, Conns: 2, Error: "a.pcap: file is truncated"}}
	// More servers than sending addresses: the two rankings differ in length.
	r.Findings = append(r.Findings, report.Finding{Frame: 11, From: "10.0.0.2:443", Client: "10.0.0.1:4001", Server: "10.0.0.2:443", Sender: cause.Server, Cause: cause.ClosedPort, Benign: true})
	r.Tally()
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"3 TCP resets", "1</b>deserve attention", "closed-port", "injected", "10.0.0.2:80 → 10.0.0.1:4000",
		"a.pcap #7", "file is truncated", cause.Lookup(cause.ClosedPort).Advice[0][:20]} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Count(page, "<script>") != 1 || strings.Contains(page, "<script>alert") {
		t.Error("evidence was not escaped: the page carries a second <script> tag")
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("the page loads something from the network")
	}
}

func TestHTMLNoResets(t *testing.T) {
	r := &report.Report{}
	r.Tally()
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No TCP resets in this capture.") {
		t.Errorf("empty report does not say so:\n%s", b.String())
	}
}
