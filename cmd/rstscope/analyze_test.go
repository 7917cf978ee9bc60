package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// captureFile returns the path of a capture under testdata/capture.
func captureFile(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(testutil.ModuleRoot(t), "testdata", "capture", name)
}

// analyzeCmd runs "rstscope analyze args..." and returns its output and error.
func analyzeCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"analyze"}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

// ndjsonFindings parses --format ndjson output.
func ndjsonFindings(t *testing.T, out string) []report.Finding {
	t.Helper()
	var fs []report.Finding
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var f report.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %q is not a JSON finding: %v", sc.Text(), err)
		}
		fs = append(fs, f)
	}
	return fs
}

// lo-resets.pcap holds three resets: frames 2 and 10 answer SYNs to closed
// ports, frame 8 ends an established connection (see testdata/capture/README.md).
func TestAnalyzeFormats(t *testing.T) {
	for _, name := range []string{"lo-resets.pcap", "lo-resets.pcapng", "lo-resets.pcap.gz"} {
		t.Run(name, func(t *testing.T) {
			path := captureFile(t, name)
			out, _, err := analyzeCmd(t, "--format", "ndjson", path)
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			fs := ndjsonFindings(t, out)
			var frames []uint64
			for _, f := range fs {
				frames = append(frames, f.Frame)
				if f.File != path {
					t.Errorf("finding file = %q, want %q", f.File, path)
				}
			}
			if len(fs) != 3 {
				t.Fatalf("got findings for frames %v, want 2, 8 and 10", frames)
			}
			causes := map[uint64]string{}
			for _, f := range fs {
				causes[f.Frame] = string(f.Cause)
			}
			if causes[2] != "closed-port" || causes[10] != "closed-port" {
				t.Errorf("causes = %v, want closed-port for frames 2 and 10", causes)
			}
		})
	}
}

func TestAnalyzeJSON(t *testing.T) {
	out, _, err := analyzeCmd(t, "--format", "json", captureFile(t, "lo-resets.pcap"))
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	var rep struct {
		Summary  *report.Summary  `json:"summary"`
		Findings []report.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if rep.Summary == nil {
		t.Fatal("no summary in the JSON output")
	}
	if rep.Summary.Resets != 3 || len(rep.Findings) != 3 || rep.Summary.Packets != 10 {
		t.Errorf("summary says %d resets of %d packets with %d findings, want 3, 10, 3", rep.Summary.Resets, rep.Summary.Packets, len(rep.Findings))
	}
	if len(rep.Summary.Files) != 1 || rep.Summary.Files[0].Error != "" {
		t.Errorf("summary files = %+v, want one without error", rep.Summary.Files)
	}
}

func TestAnalyzeConnLog(t *testing.T) {
	out, _, err := analyzeCmd(t, "--format", "conn", captureFile(t, "lo-resets.pcap"))
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 || lines[0] != `#separator \x09` {
		t.Fatalf("first line = %q, want Zeek's #separator line", lines[0])
	}
	var fields []string
	var conns int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "#fields\t"):
			fields = strings.Split(l, "\t")[1:]
		case !strings.HasPrefix(l, "#"):
			conns++
			if got := len(strings.Split(l, "\t")); got != len(fields) {
				t.Errorf("row %q has %d columns, #fields %d", l, got, len(fields))
			}
		}
	}
	for _, want := range []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "conn_state", "history"} {
		if !hasString(fields, want) {
			t.Errorf("#fields %v lack %q", fields, want)
		}
	}
	if conns != 3 {
		t.Errorf("got %d connections, want 3", conns)
	}
	if !strings.HasPrefix(lines[len(lines)-1], "#close") {
		t.Errorf("last line = %q, want #close", lines[len(lines)-1])
	}
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestAnalyzeTruncated: a truncated file still gives the findings before the
// cut, then an error of one line naming the file.
func TestAnalyzeTruncated(t *testing.T) {
	path := captureFile(t, "lo-resets-truncated.pcap")
	for _, format := range []string{"ndjson", "json", "text"} {
		t.Run(format, func(t *testing.T) {
			out, _, err := analyzeCmd(t, "--format", format, path)
			if err == nil {
				t.Fatal("analyze succeeded on a truncated file, want an error")
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "truncated") || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line naming %s and saying truncated", msg, path)
			}
			switch format {
			case "ndjson":
				var frames []uint64
				for _, f := range ndjsonFindings(t, out) {
					frames = append(frames, f.Frame)
				}
				if len(frames) != 2 || !hasString([]string{"2,8", "8,2"}, join(frames)) {
					t.Errorf("findings for frames %v, want 2 and 8", frames)
				}
			case "json":
				var rep report.Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("output is not JSON: %v", err)
				}
				if len(rep.Findings) != 2 || len(rep.Summary.Files) != 1 || !strings.Contains(rep.Summary.Files[0].Error, "truncated") {
					t.Errorf("got %d findings and files %+v, want 2 findings and the file's error", len(rep.Findings), rep.Summary.Files)
				}
			case "text":
				if !strings.Contains(out, "#8") {
					t.Errorf("text report lacks frame 8's reset:\n%s", out)
				}
			}
		})
	}
}

func join(ns []uint64) string {
	var s []string
	for _, n := range ns {
		s = append(s, strconv.FormatUint(n, 10))
	}
	return strings.Join(s, ",")
}

// TestAnalyzeSeveralFiles: every file is analysed; a bad one does not stop
// the good ones, and each error names its file.
func TestAnalyzeSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good1, good2 := captureFile(t, "lo-resets.pcap"), captureFile(t, "lo-resets.pcapng")
	out, _, err := analyzeCmd(t, "--format", "ndjson", good1, text, good2)
	if err == nil || !strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), "not a pcap or pcapng capture") {
		t.Errorf("error = %v, want one naming %s as not a capture", err, text)
	}
	// The two good files are one capture in two formats: the same
	// traffic, so each reset is one finding that lists both sightings.
	perFile := map[string]int{}
	findings := ndjsonFindings(t, out)
	for _, f := range findings {
		for _, s := range f.Sightings {
			perFile[s.File]++
		}
	}
	if len(findings) != 3 || perFile[good1] != 3 || perFile[good2] != 3 {
		t.Errorf("got %d findings, sightings per file %v; want 3 findings, each seen in both good files", len(findings), perFile)
	}

	out, _, err = analyzeCmd(t, "--format", "json", good1, good2)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Summary.Files) != 2 || rep.Summary.Files[0].File != good1 || rep.Summary.Files[1].File != good2 || rep.Summary.Resets != 3 {
		t.Errorf("summary = %+v, want both files in order and 3 resets (each seen twice)", rep.Summary)
	}
}

// TestAnalyzeStdin reads "-" from a pipe standing in for standard input.
func TestAnalyzeStdin(t *testing.T) {
	data, err := os.ReadFile(captureFile(t, "lo-resets.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = pr
	t.Cleanup(func() { os.Stdin = old; pr.Close() })
	go func() {
		pw.Write(data)
		pw.Close()
	}()
	out, _, err := analyzeCmd(t, "--format", "ndjson", "-")
	if err != nil {
		t.Fatalf("analyze -: %v", err)
	}
	fs := ndjsonFindings(t, out)
	if len(fs) != 3 {
		t.Fatalf("got %d findings from standard input, want 3", len(fs))
	}
	if fs[0].File != "-" {
		t.Errorf("finding file = %q, want -", fs[0].File)
	}
}

// TestAnalyzeErrors covers the exits with an error: each is one line that
// names what is wrong.
func TestAnalyzeErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "readme.txt")
	if err := os.WriteFile(text, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pcap")
	for _, tt := range []struct {
		name  string
		args  []string
		words []string
	}{
		{"no file", nil, []string{"no capture file"}},
		{"unknown format", []string{"--format", "xml", captureFile(t, "lo-resets.pcap")}, []string{"unknown format", "xml"}},
		{"unknown flag", []string{"--bogus", captureFile(t, "lo-resets.pcap")}, []string{"bogus"}},
		{"missing file", []string{missing}, []string{missing, "no such file"}},
		{"empty file", []string{empty}, []string{empty, "empty"}},
		{"not a capture", []string{text}, []string{text, "not a pcap or pcapng capture"}},
		{"directory", []string{dir}, []string{dir, "is a directory"}},
		{"output file in a missing directory", []string{"-o", filepath.Join(missing, "out.json"), captureFile(t, "lo-resets.pcap")}, []string{"out.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := analyzeCmd(t, tt.args...)
			if err == nil {
				t.Fatal("analyze succeeded, want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is more than one line", msg)
			}
			for _, w := range tt.words {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}

// TestAnalyzeUnknownLink: frames of a link type rstscope does not decode are
// read and counted, the report still comes out, and the command fails with
// one line naming the file and the link type.
func TestAnalyzeUnknownLink(t *testing.T) {
	path := captureFile(t, "unknown-link.pcap")
	out, _, err := analyzeCmd(t, "--format", "json", path)
	if err == nil {
		t.Fatal("analyze: got no error for a capture of an unsupported link type")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "link type 147 is not supported") || strings.Contains(msg, "\n") {
		t.Errorf("error %q should be one line naming the file and link type 147", msg)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("the report was not written: %v", err)
	}
	if len(rep.Summary.Files) != 1 || rep.Summary.Files[0].Packets != 10 || rep.Summary.Files[0].Unsupported != 10 {
		t.Errorf("files = %+v, want 10 packets, 10 of an unsupported link type", rep.Summary.Files)
	}
	out, _, _ = analyzeCmd(t, path)
	if !strings.Contains(out, "link type 147 is not supported: 10 of 10 frames skipped") {
		t.Errorf("text report does not say the link type is unsupported:\n%s", out)
	}
}
