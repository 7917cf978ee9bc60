package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
)

// TestSampleGolden keeps the README's quick start true: analyze on the
// shipped sample prints exactly testdata/sample/resets.txt. The golden file
// is a format check (regenerate with -update); that the report accounts for
// every reset is checked against the ndjson findings below.
func TestSampleGolden(t *testing.T) {
	root := testutil.ModuleRoot(t)
	var out, errOut bytes.Buffer
	// Run from the module root so the file name in the output is the README's.
	t.Chdir(root)
	if err := run(context.Background(), []string{"analyze", "--color", "never", "testdata/sample/resets.pcap"}, &out, &errOut); err != nil {
		t.Fatalf("analyze: %v (stderr: %s)", err, errOut.String())
	}
	testutil.Golden(t, filepath.Join(root, "testdata", "sample", "resets.txt"), out.Bytes())

	// 13 resets, at most 50: every one is listed under a group whose count
	// adds up, and each group's cause is the finding's.
	nd, _, err := analyzeCmd(t, "--format", "ndjson", "testdata/sample/resets.pcap")
	if err != nil {
		t.Fatal(err)
	}
	findings := ndjsonFindings(t, nd)
	causeOf := map[string]string{}
	for _, f := range findings {
		causeOf["#"+strconv.FormatUint(f.Frame, 10)] = string(f.Cause)
	}
	var sum int
	cur := ""
	listed := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if m := groupHeader.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			sum += n
			cur = m[2]
			continue
		}
		if fields := strings.Fields(l); len(fields) > 0 && strings.HasPrefix(fields[0], "#") {
			listed++
			if causeOf[fields[0]] != cur {
				t.Errorf("reset %s listed under %s, its finding says %s", fields[0], cur, causeOf[fields[0]])
			}
		}
	}
	if sum != len(findings) || listed != len(findings) {
		t.Errorf("groups count %d resets and list %d, want %d (the findings)", sum, listed, len(findings))
	}
}

// TestReadmeOutput keeps the README's report excerpts true: each block's
// lines, up to its "...", are the first lines of the golden output it shows
// (the quick start's sample, and the synthetic capture's report).
func TestReadmeOutput(t *testing.T) {
	root := testutil.ModuleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after, golden, indent string
	}{
		{"$ rstscope analyze testdata/sample/resets.pcap\n", "testdata/sample/resets.txt", ""},
		{"the whole report is", "cmd/rstscope/testdata/synthetic.txt", "  "},
	} {
		i := strings.Index(string(readme), tc.after)
		if i < 0 {
			t.Errorf("README has no block after %q", tc.after)
			continue
		}
		rest := string(readme[i+len(tc.after):])
		if j := strings.Index(rest, "```\n"); j >= 0 && tc.indent != "" {
			rest = rest[j+4:]
		}
		block := rest[:strings.Index(rest, "...")]
		want, err := os.ReadFile(filepath.Join(root, tc.golden))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(block, " \n"), "\n") {
			lines = append(lines, strings.TrimPrefix(l, tc.indent))
		}
		got := strings.Join(lines, "\n")
		if !strings.HasPrefix(string(want), got+"\n") || len(lines) < 5 {
			t.Errorf("README's block after %q is not the start of %s:\n%s", tc.after, tc.golden, got)
		}
	}
}
