package render_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

// TestPageSizeBounded renders 40,000 resets spread over 3,000 servers, as a
// busy capture with a port scan makes them, every shown ladder at its
// longest: the page must stay under the 5 MB whatever the
// capture's size, because it shows a bounded number of groups and examples.
func TestPageSizeBounded(t *testing.T) {
	r := &report.Report{}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range 40000 {
		f := report.Finding{Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), Frame: uint64(10 * (i + 1)), File: "big.pcap",
			Client: fmt.Sprintf("10.0.%d.%d:%d", i/250%250, i%250, 1024+i%60000), Confidence: 0.8,
			Evidence: []string{"a line of evidence of the usual length, with numbers 12345 and 67890", "another line"}}
		switch {
		case i%4 != 0: // 30,000 probes of closed ports on 3,000 servers
			f.Cause, f.Sender, f.Benign, f.Server = cause.ClosedPort, cause.Server, true, fmt.Sprintf("10.9.%d.%d:%d", i%3000/250, i%250, 80)
		case i%8 == 0:
			f.Cause, f.Sender, f.Server = cause.HalfOpen, cause.Server, "10.9.0.1:443"
		default:
			f.Cause, f.Sender, f.Server = cause.ApplicationAbort, cause.Client, "10.9.0.2:8080"
		}
		f.From, f.Advice, f.Filter = f.Server, cause.Lookup(f.Cause).Advice, "ip.addr==10.0.0.1 && tcp.port==1024 && ip.addr==10.9.0.1 && tcp.port==443"
		r.Findings = append(r.Findings, f)
	}
	r.Summary.Files = []report.FileStats{{File: "big.pcap", Packets: 5_000_000, TCP: 5_000_000, Conns: 400_000, Resets: 40000}}
	r.Tally()
	ls := &report.Ladders{ByReset: map[report.ResetRef]*report.Ladder{}}
	for _, ref := range r.Shown(r.Groups()) {
		l := &report.Ladder{File: ref.File, Frame: ref.Frame, Client: "10.0.0.1:1024", Server: "10.9.0.1:443", Earlier: 1000}
		for k := range 30 + 1 + 8 {
			l.Packets = append(l.Packets, report.LadderPacket{Frame: ref.Frame - 30 + uint64(k), Time: t0.Add(time.Duration(k) * time.Millisecond),
				FromClient: k%2 == 0, Flags: packet.PSH | packet.ACK, Seq: 1_000_000_000 + int64(k), Ack: 2_000_000_000, Len: 1448,
				Window: 65535, TTL: 64, IPID: 65535, Reset: k == 30, After: k > 30})
		}
		ls.ByReset[ref] = l
	}
	var b bytes.Buffer
	start := time.Now()
	if err := render.HTMLPage(&b, r, ls); err != nil {
		t.Fatal(err)
	}
	t.Logf("40,000 resets in %d groups: page of %d bytes, rendered in %v", len(r.Groups()), b.Len(), time.Since(start))
	if p := os.Getenv("RSTSCOPE_PAGE_OUT"); p != "" {
		os.WriteFile(p, b.Bytes(), 0o644)
	}
	if b.Len() > 5<<20 {
		t.Errorf("page is %d bytes, want under 5 MB", b.Len())
	}
}
