// Package host holds host facts that explain or predict TCP resets: TCP
// sysctls, /proc counters, listen queues (sock_diag), firewall rules that
// send resets (nftables, iptables), conntrack limits and duplicate
// addresses. Every file is read under a root directory so tests point it at
// fixture copies of /proc and /sys; parsing and opening are separate steps.
package host

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/rstscope/rstscope/cause"
)

// Severity ranks a finding. Info findings carry values for the record; only
// warning and critical ones say a setting or state will reset connections.
type Severity int

const (
	Info Severity = iota
	Warning
	Critical
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "info"
}

// MarshalText makes JSON carry the name, not the number.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the names MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "info":
		*s = Info
	case "warning":
		*s = Warning
	case "critical":
		*s = Critical
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Finding is one fact about the host. ID is stable across runs
// ("sysctl.tcp_abort_on_overflow", "listen.127.0.0.1:8080") so fleets can
// diff and silence findings by ID.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Cause    cause.ID `json:"cause"`
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence"`
	Advice   []string `json:"advice"`
}

// Unreadable names a source the check could not read, so a clean report is
// never mistaken for a clean host.
type Unreadable struct {
	What  string `json:"what"`
	Path  string `json:"path"`
	Error string `json:"error"`
}

// Report is everything one check found.
type Report struct {
	Findings   []Finding    `json:"findings"`
	Unreadable []Unreadable `json:"unreadable"`
}

// sort orders findings most severe first, then by ID, so output is stable.
func (r *Report) sort() {
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	slices.SortStableFunc(r.Unreadable, func(a, b Unreadable) int {
		return cmp.Compare(a.What+a.Path, b.What+b.Path)
	})
}

// add appends findings, keeping Evidence and Advice non-nil so JSON shows [].
func (r *Report) add(fs ...Finding) {
	for _, f := range fs {
		if f.Evidence == nil {
			f.Evidence = []string{}
		}
		if f.Advice == nil {
			f.Advice = []string{}
		}
		r.Findings = append(r.Findings, f)
	}
}

func (r *Report) unreadable(what, path string, err error) {
	r.Unreadable = append(r.Unreadable, Unreadable{What: what, Path: path, Error: err.Error()})
}
