package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestAnalyzeFrame: --frame prints the ladder of one reset of the sample
// (frames 87–94 are its connection, as tshark's tcp.stream shows them), and
// names the resets when the frame is not one.
func TestAnalyzeFrame(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"analyze", "--frame", "92", "../../testdata/sample/resets.pcap"}, &out, &errOut); err != nil {
		t.Fatalf("analyze --frame 92: %v (stderr: %s)", err, errOut.String())
	}
	for _, want := range []string{"#92 ", "     87 ", "▶      92 ", "     94 ", "Wireshark: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("colour written to a buffer")
	}
	err := run(context.Background(), []string{"analyze", "--frame", "90", "../../testdata/sample/resets.pcap"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "frame 90 is not a TCP reset (resets are at frames 17, 27, 31") {
		t.Errorf("--frame 90: got %v", err)
	}
}
