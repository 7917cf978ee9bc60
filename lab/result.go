package lab

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Result is what one run produced and checked.
type Result struct {
	Scenario string        // Scenario.ID()
	Family   int           // 4 or 6
	Dir      string        // where the files are
	Client   []Expected    // verdicts for the resets in client.pcap
	Server   []Expected    // verdicts for the resets in server.pcap
	Kernel   KernelTruth   // also written to kernel.json
	Elapsed  time.Duration // wall time of the whole run, setup and teardown included
}

// KernelTruth is the kernel's own account of a run, written to kernel.json.
type KernelTruth struct {
	Scenario string        `json:"scenario"`
	Family   int           `json:"family"`
	Events   []KernelEvent `json:"events"`       // reset tracepoint events on the lab's flows
	Reasons  []string      `json:"send_reasons"` // distinct tcp_send_reset reasons, first seen first
	// NFTCounter is the sum of the scenario's nftables rule counters, when
	// it loaded rules.
	NFTCounter *int     `json:"nft_counter,omitempty"`
	Notes      []string `json:"notes,omitempty"` // facts the scenario measured
}

// Files in a run's directory.
const (
	ClientPcap     = "client.pcap"
	ServerPcap     = "server.pcap"
	ClientExpected = "client.expected.json"
	ServerExpected = "server.expected.json"
	KernelJSON     = "kernel.json"
)

// ErrNeedsRoot is returned when the process cannot create namespaces.
var ErrNeedsRoot = errors.New("the lab needs root (network namespaces, raw sockets, tracefs)")

// ErrUnsupported is returned by Run where the lab cannot run at all (not Linux).
var ErrUnsupported = errors.New("the lab needs Linux (network namespaces, AF_PACKET, tracefs)")

func (c count) String() string {
	switch {
	case c.min == c.max:
		return fmt.Sprint(c.min)
	case c.max < 0:
		return fmt.Sprintf("at least %d", c.min)
	}
	return fmt.Sprintf("%d to %d", c.min, c.max)
}

// check compares the kernel's account with what the scenario claims.
func (k kernelWant) check(t KernelTruth) []error {
	var errs []error
	for _, want := range k.reasons {
		if !slices.Contains(t.Reasons, want) {
			errs = append(errs, fmt.Errorf("kernel reported reasons %v, want %s among them", t.Reasons, want))
		}
	}
	if k.noSendReset && len(t.Reasons) > 0 {
		errs = append(errs, fmt.Errorf("kernel's TCP stack sent resets (%v), want none (netfilter only)", t.Reasons))
	}
	if k.counter && (t.NFTCounter == nil || *t.NFTCounter == 0) {
		errs = append(errs, errors.New("the nftables reject rule counted nothing"))
	}
	return errs
}
