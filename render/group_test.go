package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// finding makes a finding to server at the given second of the day.
func finding(c cause.ID, s cause.Sender, server string, sec int) report.Finding {
	return report.Finding{Time: time.Date(2026, 11, 25, 10, 0, sec, 0, time.UTC), Frame: uint64(sec + 1), File: "t.pcap",
		Client: "10.9.9.9:40000", Server: server, From: server, Sender: s, Cause: c, Confidence: 0.9,
		Evidence: []string{"evidence of " + string(c)}, Advice: []string{"advice for " + string(c)}, Benign: cause.Lookup(c).Benign}
}

func TestGroupSplit(t *testing.T) {
	var r report.Report
	add := func(n int, c cause.ID, s cause.Sender, server func(i int) string) {
		for i := 0; i < n; i++ {
			r.Findings = append(r.Findings, finding(c, s, server(i), len(r.Findings)))
		}
	}
	add(50, cause.HalfOpen, cause.Server, func(int) string { return "10.0.0.1:443" })                       // one listener: its own group
	add(40, cause.HalfOpen, cause.Server, func(i int) string { return fmt.Sprintf("10.0.0.2:%d", 1000+i) }) // one host, many ports
	add(10, cause.HalfOpen, cause.Server, func(i int) string { return fmt.Sprintf("10.0.1.%d:80", i) })     // small, spread: the rest
	add(1, cause.HalfOpen, cause.Client, func(int) string { return "10.0.0.1:443" })                        // another sender
	add(30, cause.ClosedPort, cause.Server, func(i int) string { return fmt.Sprintf("10.0.0.3:%d", i) })    // benign: after all attention
	var got []string
	for _, g := range groupFindings(&r) {
		got = append(got, fmt.Sprintf("%d %s/%s %s", len(g.findings), g.cause, g.sender, g.where))
	}
	want := []string{
		"50 half-open/server 10.0.0.1:443",
		"40 half-open/server 10.0.0.2 (40 ports)",
		"10 half-open/server 10 servers",
		"1 half-open/client 10.0.0.1:443",
		"30 closed-port/server 10.0.0.3 (30 ports)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTextScreen: with more groups than a screen holds, the summarised
// report shows the largest and sums up the rest in one line; --all shows
// every reset.
func TestTextScreen(t *testing.T) {
	var r report.Report
	r.Summary.Files = []report.FileStats{{File: "t.pcap"}}
	causes := []cause.ID{cause.HalfOpen, cause.IdleTimeout, cause.Injected, cause.FirewallReject, cause.SYNConflict,
		cause.DataAfterClose, cause.UnreadDataClose, cause.InvalidSegment, cause.DuplicateIP, cause.AcceptQueueOverflow, cause.ClosedPort}
	for i, c := range causes {
		for j := 0; j < 10+i; j++ {
			r.Findings = append(r.Findings, finding(c, cause.Server, "10.0.0.1:443", len(r.Findings)%60))
		}
	}
	r.Tally()
	var b bytes.Buffer
	if err := (Text{}).Render(&b, &r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "\n"); n >= 60 {
		t.Errorf("report has %d lines, want under 60", n)
	}
	// 10 attention groups (closed-port is benign): 8 shown, 2 summed up,
	// the smallest: half-open (10) and idle-timeout (11); closed-port's group
	// is hidden too, in its own section.
	for _, want := range []string{
		"  + 2 more group(s), 21 resets: idle-timeout by server on 10.0.0.1:443 (11), half-open by server on 10.0.0.1:443 (10)\n",
		"  + 1 more group(s), 20 resets: closed-port by server on 10.0.0.1:443 (20)\n",
		"Deserve attention: 145 resets in 10 group(s)\n",
		"--all lists every reset",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "19  accept-queue-overflow") > strings.Index(out, "18  duplicate-ip") {
		t.Errorf("groups not ordered largest first:\n%s", out)
	}
	b.Reset()
	(Text{All: true}).Render(&b, &r)
	if n := strings.Count(b.String(), "evidence of"); n != len(r.Findings) {
		t.Errorf("--all lists %d resets, want %d", n, len(r.Findings))
	}
}

func TestTextColour(t *testing.T) {
	r := report.Report{Findings: []report.Finding{finding(cause.HalfOpen, cause.Server, "10.0.0.1:443", 1)}}
	r.Tally()
	var plain, colour bytes.Buffer
	(Text{}).Render(&plain, &r)
	(Text{Color: true}).Render(&colour, &r)
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(colour.String(), ansiRed+"half-open"+ansiReset) {
		t.Errorf("colour off:\n%q\ncolour on:\n%q", plain.String(), colour.String())
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 39364: "39,364", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
