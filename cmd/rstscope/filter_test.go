package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// firstPacketTime reads the first packet's timestamp with gopacket's own
// reader, independently of rstscope's capture package.
func firstPacketTime(t *testing.T, path string) time.Time {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	_, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	return ci.Timestamp
}

var textResets = regexp.MustCompile(`(?m)^rstscope: .* ([0-9,]+) resets: `)

// TestFilters runs every filter flag on the sample capture in every format
// and compares the number of resets each format kept with a count made
// here from the unfiltered findings, by a predicate written in the test
// (not report.Filter).
var htmlGroupCount = regexp.MustCompile(`<article class="group[^"]*"[^>]* data-count="(\d+)"`)

func TestFilters(t *testing.T) {
	root := testutil.ModuleRoot(t)
	sample := root + "/testdata/sample/resets.pcap"
	nd, _, err := analyzeCmd(t, "--format", "ndjson", sample)
	if err != nil {
		t.Fatal(err)
	}
	all := ndjsonFindings(t, nd)
	if len(all) < 10 {
		t.Fatalf("sample has %d findings, want the 13 of testdata/sample/README.md", len(all))
	}
	start := firstPacketTime(t, sample)
	at := func(i int) string { return all[i].Time.Format(time.RFC3339Nano) }
	port := func(ep string) string { return ep[strings.LastIndex(ep, ":")+1:] }
	cases := []struct {
		name string
		args []string
		keep func(f *report.Finding) bool
	}{
		{"cause", []string{"--cause", "half-open"}, func(f *report.Finding) bool { return f.Cause == "half-open" }},
		{"causes", []string{"--cause", "half-open,idle-timeout", "--cause", "injected"}, func(f *report.Finding) bool {
			return f.Cause == "half-open" || f.Cause == "idle-timeout" || f.Cause == "injected"
		}},
		{"sender", []string{"--sender", "middlebox"}, func(f *report.Finding) bool { return f.Sender == "middlebox" }},
		{"host v4", []string{"--host", "10.99.1.2"}, func(f *report.Finding) bool { return strings.HasPrefix(f.Client, "10.99.1.2:") }},
		{"host v6 prefix", []string{"--host", "fd99::/16"}, func(f *report.Finding) bool { return strings.HasPrefix(f.Server, "[fd99:") }},
		{"port either end", []string{"--port", port(all[7].Server), "--port", port(all[0].Client)}, func(f *report.Finding) bool {
			p := []string{port(all[7].Server), port(all[0].Client)}
			return port(f.Server) == p[0] || port(f.Client) == p[0] || port(f.Server) == p[1] || port(f.Client) == p[1]
		}},
		{"attention", []string{"--attention"}, func(f *report.Finding) bool { return !f.Benign }},
		{"since", []string{"--since", at(5)}, func(f *report.Finding) bool { return !f.Time.Before(all[5].Time) }},
		{"until", []string{"--until", at(5)}, func(f *report.Finding) bool { return f.Time.Before(all[5].Time) }},
		{"since relative", []string{"--since", "10s"}, func(f *report.Finding) bool { return !f.Time.Before(start.Add(10 * time.Second)) }},
		{"window relative", []string{"--since", "+5s", "--until", "25s"}, func(f *report.Finding) bool {
			return !f.Time.Before(start.Add(5*time.Second)) && f.Time.Before(start.Add(25*time.Second))
		}},
		{"min-confidence", []string{"--min-confidence", "0.8"}, func(f *report.Finding) bool { return f.Confidence >= 0.8 }},
		{"combined", []string{"--attention", "--sender", "server"}, func(f *report.Finding) bool { return !f.Benign && f.Sender == "server" }},
		{"nothing", []string{"--cause", "duplicate-ip"}, func(f *report.Finding) bool { return false }},
	}
	for _, tc := range cases {
		want := 0
		for i := range all {
			if tc.keep(&all[i]) {
				want++
			}
		}
		for _, format := range []string{"ndjson", "json", "html", "text"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				out, stderr, err := analyzeCmd(t, append(append([]string{"--format", format}, tc.args...), sample)...)
				if err != nil {
					t.Fatalf("analyze %v: %v", tc.args, err)
				}
				var got int
				switch format {
				case "ndjson":
					got = len(ndjsonFindings(t, out))
				case "json":
					var rep report.Report
					if err := json.Unmarshal([]byte(out), &rep); err != nil {
						t.Fatal(err)
					}
					got = len(rep.Findings)
					if rep.Summary.Resets != want || rep.Summary.Unfiltered != len(all) || rep.Summary.Filters == "" {
						t.Errorf("summary says %d of %d resets under %q, want %d of %d and the filter", rep.Summary.Resets, rep.Summary.Unfiltered, rep.Summary.Filters, want, len(all))
					}
				case "html":
					// Every reset is counted in its group's data-count.
					for _, m := range htmlGroupCount.FindAllStringSubmatch(out, -1) {
						n, _ := strconv.Atoi(m[1])
						got += n
					}
				case "text":
					m := textResets.FindStringSubmatch(out)
					if m == nil {
						t.Fatalf("no summary line in\n%s", out)
					}
					got, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
					listed := 0
					for _, l := range strings.Split(out, "\n") {
						if strings.HasPrefix(strings.TrimSpace(l), "#") {
							listed++
						}
					}
					if listed != want {
						t.Errorf("text lists %d resets, want %d", listed, want)
					}
				}
				if got != want {
					t.Errorf("%s kept %d resets, want %d", format, got, want)
				}
				says := strings.Contains(stderr, "no reset matches")
				if says != (want == 0) || strings.Count(stderr, "\n") > 1 {
					t.Errorf("stderr %q: want one line saying nothing matched exactly when nothing did (%d kept)", stderr, want)
				}
			})
		}
	}
}

// TestFiltersConn: conn.log rows are connections, so --host, --port,
// --since and --until apply to them (a connection's time is its start) and
// the rest are refused.
func TestFiltersConn(t *testing.T) {
	sample := testutil.ModuleRoot(t) + "/testdata/sample/resets.pcap"
	rows := func(out string) [][]string {
		var rs [][]string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, "#") {
				rs = append(rs, strings.Split(l, "\t"))
			}
		}
		return rs
	}
	out, _, err := analyzeCmd(t, "--format", "conn", sample)
	if err != nil {
		t.Fatal(err)
	}
	all := rows(out) // ts uid orig_h orig_p resp_h resp_p ...
	mid := all[len(all)/2][0]
	midT, _ := strconv.ParseFloat(mid, 64)
	for _, tc := range []struct {
		name string
		args []string
		keep func(r []string) bool
	}{
		{"host", []string{"--host", "fd99:0:0:2::2"}, func(r []string) bool { return r[2] == "fd99:0:0:2::2" || r[4] == "fd99:0:0:2::2" }},
		{"port", []string{"--port", all[0][5]}, func(r []string) bool { return r[3] == all[0][5] || r[5] == all[0][5] }},
		// conn.log prints ts to the microsecond; --since a microsecond
		// before one row's ts keeps the rows printed at or after it.
		{"since", []string{"--since", time.Unix(0, int64(midT*1e9)-1000).UTC().Format(time.RFC3339Nano)}, func(r []string) bool {
			v, _ := strconv.ParseFloat(r[0], 64)
			return v >= midT-0.5e-6
		}},
	} {
		want := 0
		for _, r := range all {
			if tc.keep(r) {
				want++
			}
		}
		out, _, err := analyzeCmd(t, append(append([]string{"--format", "conn"}, tc.args...), sample)...)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(rows(out)); got != want || want == 0 {
			t.Errorf("%s: conn kept %d connections, want %d (of %d)", tc.name, got, want, len(all))
		}
	}
	if _, _, err := analyzeCmd(t, "--format", "conn", "--cause", "closed-port", sample); err == nil || !strings.Contains(err.Error(), "no cause") {
		t.Errorf("conn with --cause: got %v, want an error saying connections have no cause", err)
	}
}

// TestFilterErrors: a bad filter value is one line naming the flag.
func TestFilterErrors(t *testing.T) {
	sample := testutil.ModuleRoot(t) + "/testdata/sample/resets.pcap"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cause", "gremlins"}, "--cause"},
		{[]string{"--sender", "router"}, "--sender"},
		{[]string{"--host", "example.com"}, "--host"},
		{[]string{"--port", "70000"}, "--port"},
		{[]string{"--min-confidence", "2"}, "--min-confidence"},
		{[]string{"--since", "yesterday"}, "--since"},
		{[]string{"--since", "10s", "--until", "5s"}, "not after"},
		{[]string{"--color", "sometimes"}, "--color"},
	} {
		_, _, err := analyzeCmd(t, append(tc.args, sample)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got %v, want one line mentioning %s", tc.args, err, tc.want)
		}
	}
	// A duration needs the capture's first packet, which standard input cannot give in advance.
	if _, _, err := analyzeCmd(t, "--since", "5m", "-"); err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Errorf("--since 5m on stdin: got %v, want an error about standard input", err)
	}
	// watch checks its filters before it needs root or a kernel.
	if _, _, err := runCmd(t, "watch", "--cause", "gremlins"); err == nil || !strings.Contains(err.Error(), "--cause") {
		t.Errorf("watch --cause gremlins: got %v, want an error naming --cause", err)
	}
}
