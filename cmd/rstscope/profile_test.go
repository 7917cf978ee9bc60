package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAnalyzeCPUProfile: -cpuprofile writes a profile (gzip-compressed
// protobuf, as go tool pprof reads) and the analysis still runs.
func TestAnalyzeCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.out")
	if _, _, err := analyzeCmd(t, "-cpuprofile", prof, "--format", "ndjson", captureFile(t, "lo-resets.pcap")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("profile starts %x, want gzip's 1f8b", b[:min(len(b), 2)])
	}
}
