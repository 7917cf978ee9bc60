package lab

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/rstscope/rstscope/cause"
)

// Expected is the verdict a scenario knows is right for one reset in one of
// its captures: client.expected.json beside client.pcap, server.expected.json
// beside server.pcap.
type Expected struct {
	Frame  uint64       `json:"frame"` // 1-based frame number in the capture, as Wireshark counts
	From   string       `json:"from"`  // ip:port the reset claims to come from
	To     string       `json:"to"`
	Cause  cause.ID     `json:"cause"`
	Sender cause.Sender `json:"sender"`
	// WireCause is set where a capture cannot tell Cause apart from another
	// cause: it is the verdict packets alone can give, and WireWhy says why.
	WireCause cause.ID `json:"wire_cause,omitempty"`
	WireWhy   string   `json:"wire_why,omitempty"`
}

// CaptureCause is the cause analyze should give from the capture alone.
func (x Expected) CaptureCause() cause.ID {
	if x.WireCause != "" {
		return x.WireCause
	}
	return x.Cause
}

// ReadExpected reads an expected-verdict file written by Run.
func ReadExpected(path string) ([]Expected, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading expected verdicts: %w", err)
	}
	var out []Expected
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return out, nil
}

// writeJSON writes v indented, with a final newline, so committed files diff well.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
