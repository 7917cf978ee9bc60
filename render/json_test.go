package render_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

// encoderJSON is what render.JSON wrote before it built the document
// itself: encoding/json's indenting Encoder, the reference its bytes must
// equal.
func encoderJSON(t *testing.T, r *report.Report) []byte {
	t.Helper()
	c := *r
	if c.Findings == nil {
		c.Findings = []report.Finding{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestJSONAsEncoder: render.JSON writes the Encoder's bytes for reports of
// every capture under testdata/ (with their connections), an empty one, and
// one whose strings carry what JSON escapes (HTML characters, quotes,
// control bytes, invalid UTF-8, U+2028).
func TestJSONAsEncoder(t *testing.T) {
	odd := "a<b>&\"c\\\n\t\x01\xff\u2028é"
	reports := map[string]*report.Report{
		"empty": {},
		"odd strings": {
			Findings: []report.Finding{{File: odd, Frame: 7, Time: time.Date(2026, 11, 30, 6, 0, 0, 123456789, time.UTC),
				Client: "10.0.0.1:1", Server: "[2001:db8::1]:80", Cause: "unknown", Evidence: []string{odd, ""}, Advice: []string{odd}}},
			Connections: []report.ConnSummary{{UID: odd, File: odd}},
		},
	}
	var files []string
	filepath.WalkDir("../testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 50 {
		t.Fatalf("found %d captures under testdata, want the lab's and the sample's", len(files))
	}
	for _, f := range files {
		// Damaged captures too: their report covers what was read.
		var r report.Report
		opts := diagnose.DefaultOptions
		opts.OnFinding = func(x report.Finding) { r.Findings = append(r.Findings, x) }
		opts.OnConn = func(c report.ConnSummary) { r.Connections = append(r.Connections, c) }
		st, _ := diagnose.ReadFile(f, opts)
		r.Summary.Files = []report.FileStats{st}
		r.SortFindings()
		r.Tally()
		reports[f] = &r
	}
	for name, r := range reports {
		var got bytes.Buffer
		if err := render.JSON(&got, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := encoderJSON(t, r); !bytes.Equal(got.Bytes(), want) {
			i := 0
			for i < min(got.Len(), len(want)) && got.Bytes()[i] == want[i] {
				i++
			}
			t.Errorf("%s: differs from the Encoder's at byte %d:\ngot  %q\nwant %q", name, i, tail(got.Bytes(), i), tail(want, i))
		}
	}
}

func tail(b []byte, i int) []byte { return b[max(0, i-40):min(len(b), i+40)] }
