package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
)

// groupHeader matches a group's first line in the text report:
// "  6,000  closed-port by server on 10.2.0.2 (6,000 ports)  10:00:00.000 - ...".
var groupHeader = regexp.MustCompile(`^  ([0-9][0-9,]*)  (\S+) by (\S+) on (.+?)  \d`)

// TestSyntheticReport: a capture of 10,100 resets written in the test
// (writeSynthetic) gives a text report of under 60 lines whose groups are
// the four kinds of reset it was built from, with the counts it was built
// with. The golden file testdata/synthetic.txt is a format check (the text
// layout), regenerated with -update; the counts are checked against the
// generator, not against the golden file.
func TestSyntheticReport(t *testing.T) {
	dir := t.TempDir()
	writeSynthetic(t, dir)
	t.Chdir(dir) // the file name in the output is then "synthetic.pcap" wherever the test runs
	out, stderr, err := analyzeCmd(t, "--color", "never", "synthetic.pcap")
	if err != nil {
		t.Fatalf("analyze: %v (%s)", err, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) >= 60 {
		t.Errorf("report has %d lines, want under 60:\n%s", len(lines), out)
	}
	if want := fmt.Sprintf("%s resets", commas(synthResets())); !strings.Contains(lines[0], want) {
		t.Errorf("first line %q does not say %q", lines[0], want)
	}
	got := map[string]string{}
	for _, l := range lines {
		if m := groupHeader.FindStringSubmatch(l); m != nil {
			got[m[4]] = m[1]
		}
	}
	want := map[string]string{
		"10.2.0.2 (6,000 ports)": "6,000", // the scan: one group for the host, not 6,000 lines
		"10.2.0.3:22":            "1,500",
		"10.2.0.4:443":           "2,000",
		"10.2.0.5:8080":          "600",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups (scope: count) = %v, want %v", got, want)
	}
	if !strings.Contains(out, "closed-port 7,500") {
		t.Errorf("summary does not count the 7,500 SYNs answered RST+ACK as closed-port:\n%s", out)
	}
	testutil.Golden(t, filepath.Join(testutil.ModuleRoot(t), "cmd", "rstscope", "testdata", "synthetic.txt"), []byte(out))

	// --all lists every reset: one line starting with its frame per RST written.
	out, _, err = analyzeCmd(t, "--all", "synthetic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			n++
		}
	}
	if n != synthResets() {
		t.Errorf("--all listed %d resets, want %d", n, synthResets())
	}
}

// commas writes n as the report does, with thousands separators (written
// here again so the test does not check the renderer with itself).
func commas(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// runCmd runs "rstscope args..." and returns its output and error.
func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}
