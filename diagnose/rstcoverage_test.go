package diagnose_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// TestRSTCoverage checks that every reset tshark lists for a corpus capture
// (its *.tshark-rst.tsv, one row per frame with tcp.flags.reset==1) gets a
// finding with that frame number. Tunnelled frames list outer and inner
// values joined by ';'; the frame number is the frame's own.
func TestRSTCoverage(t *testing.T) {
	dir := testutil.CorpusDir(t)
	manifest := readTSV(t, filepath.Join(dir, "MANIFEST.tsv"))
	if len(manifest) == 0 {
		t.Fatalf("empty MANIFEST.tsv under %s", dir)
	}
	var total, found, files int
	for _, m := range manifest {
		capture, table := m["path"], m["tshark_rst_table"]
		if table == "" {
			continue
		}
		want, err := rstFrames(t, filepath.Join(dir, table))
		if err != nil {
			t.Errorf("%s: %v", table, err)
			continue
		}
		got := make(map[uint64]bool)
		if _, err := diagnose.ReadFile(filepath.Join(dir, capture), diagnose.Options{
			OnFinding: func(f report.Finding) { got[f.Frame] = true },
		}); err != nil {
			t.Logf("%s: read error (analysed up to it): %v", capture, err)
		}
		var missing []string
		for _, fr := range want {
			if !got[fr] {
				missing = append(missing, strconv.FormatUint(fr, 10))
			}
		}
		files++
		total += len(want)
		found += len(want) - len(missing)
		t.Logf("%-60s %5d/%-5d resets found", capture, len(want)-len(missing), len(want))
		if len(missing) > 0 {
			t.Errorf("%s: no finding for reset frame(s) %s", capture, strings.Join(missing, ", "))
		}
	}
	t.Logf("TOTAL %d captures: %d/%d resets found", files, found, total)
}

// rstFrames returns the frame numbers listed in a tshark-rst.tsv, sorted.
func rstFrames(t *testing.T, path string) ([]uint64, error) {
	t.Helper()
	var out []uint64
	for i, row := range readTSV(t, path) {
		s := row["frame_number"]
		if j := strings.IndexByte(s, ';'); j >= 0 {
			s = s[:j]
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("row %d: frame_number %q: %w", i+2, row["frame_number"], err)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
