package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
)

// TestSampleGolden keeps the README's quick start true: analyze on the
// shipped sample prints exactly testdata/sample/resets.txt.
func TestSampleGolden(t *testing.T) {
	root := testutil.ModuleRoot(t)
	var out, errOut bytes.Buffer
	// Run from the module root so the file name in the output is the README's.
	t.Chdir(root)
	if err := run(context.Background(), []string{"analyze", "--color", "never", "testdata/sample/resets.pcap"}, &out, &errOut); err != nil {
		t.Fatalf("analyze: %v (stderr: %s)", err, errOut.String())
	}
	testutil.Golden(t, filepath.Join(root, "testdata", "sample", "resets.txt"), out.Bytes())
}
