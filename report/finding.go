// Package report holds the values every renderer sees: Finding (one per
// reset), ConnSummary (one per connection) and Report (a whole analysis).
// JSON field names are fixed here and nowhere else.
package report

import (
	"time"

	"github.com/rstscope/rstscope/cause"
)

// Finding explains one reset packet (or one kernel reset event).
type Finding struct {
	Time   time.Time `json:"time"`
	Frame  uint64    `json:"frame,omitempty"` // 1-based packet number in File, as Wireshark counts
	File   string    `json:"file,omitempty"`
	Client string    `json:"client"` // ip:port of the side that sent the SYN (best guess when the handshake was not seen)
	Server string    `json:"server"`
	From   string    `json:"from"` // ip:port the reset claims to come from
	// Direction is "sent" or "received" for live kernel events, empty for captures.
	Direction  string       `json:"direction,omitempty"`
	Sender     cause.Sender `json:"sender"`
	Cause      cause.ID     `json:"cause"`
	Confidence float64      `json:"confidence"`
	Evidence   []string     `json:"evidence"`
	Advice     []string     `json:"advice"`
	// Benign says the reset is expected behaviour (a closed port probed, a
	// browser aborting) rather than a fault that deserves attention.
	Benign bool `json:"benign"`
	// ResetACK says whether the reset carried the ACK flag: +1 it did, -1
	// it did not, 0 not known. It is not part of any output: a live
	// watch joins the kernel's half of a reset to its packet by it, since
	// one close can put a bare RST and a RST+ACK on the wire toward the
	// same peer within microseconds (diagnose.Joiner).
	ResetACK int8 `json:"-"`
	// KernelReason is the kernel's sk_rst_reason name when known (watch).
	KernelReason string `json:"kernel_reason,omitempty"`
	// Filter is the Wireshark display filter that isolates the connection.
	Filter string `json:"wireshark_filter,omitempty"`
	// Live-host context (watch): socket state, network namespace, process.
	State   string `json:"state,omitempty"`
	NetNS   uint64 `json:"netns,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Command string `json:"command,omitempty"`
	Cgroup  string `json:"cgroup,omitempty"`
	// Context says where the kernel sent the reset: "process" or "kernel" (softirq, timer).
	Context string `json:"context,omitempty"`
	// Alternatives are the other causes the evidence leaves open, each with
	// its probability; Cause and Confidence are the most likely one.
	Alternatives []Alternative `json:"alternatives,omitempty"`
	// Sightings lists every capture of the same traffic that saw this reset
	// (analyze with several captures of one path).
	Sightings []Sighting `json:"sightings,omitempty"`
	// Logs are application log lines joined to this reset.
	Logs []LogLine `json:"logs,omitempty"`
}

// Alternative is a cause the evidence does not rule out.
type Alternative struct {
	Cause       cause.ID `json:"cause"`
	Probability float64  `json:"probability"`
}

// Sighting is one capture's view of a reset.
type Sighting struct {
	File  string    `json:"file"`
	Frame uint64    `json:"frame"`
	Time  time.Time `json:"time"`
	TTL   uint8     `json:"ttl"`
}

// LogLine is one application log line joined to a reset.
type LogLine struct {
	File string    `json:"file"`
	Line int       `json:"line"`
	Time time.Time `json:"time"`
	Text string    `json:"text"`
	// MatchedBy says why the line was attached: "time", "time+address", …
	MatchedBy string `json:"matched_by"`
}
