package main

import (
	"os"
	"strings"
	"testing"
)

// TestAnalyzeOutputErrorNamesFile: a failed write says which output failed
// (/dev/full fails every write with ENOSPC), for every format.
func TestAnalyzeOutputErrorNamesFile(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	for _, format := range []string{"text", "json", "ndjson", "html", "conn"} {
		_, _, err := analyzeCmd(t, "--format", format, "-o", "/dev/full", captureFile(t, "lo-resets.pcap"))
		if err == nil || !strings.Contains(err.Error(), "writing /dev/full: ") {
			t.Errorf("%s: got %v, want an error writing /dev/full", format, err)
		}
	}
}
