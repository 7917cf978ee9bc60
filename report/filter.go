package report

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rstscope/rstscope/cause"
)

// Filter selects findings: every format (and watch) applies the same one
// before rendering. Values within one field are alternatives (any matches);
// fields combine with AND. A zero Filter matches everything.
type Filter struct {
	Causes  []cause.ID
	Senders []cause.Sender
	// Hosts match the client's or the server's address (either end).
	Hosts []netip.Prefix
	// Ports match the client's or the server's port.
	Ports []uint16
	// Attention hides benign resets.
	Attention bool
	// Since and Until bound the reset's time (capture time); zero is open.
	// Since is inclusive, Until exclusive.
	Since, Until  time.Time
	MinConfidence float64
}

// Active reports whether the filter can reject anything.
func (f *Filter) Active() bool {
	return len(f.Causes) > 0 || len(f.Senders) > 0 || len(f.Hosts) > 0 || len(f.Ports) > 0 ||
		f.Attention || !f.Since.IsZero() || !f.Until.IsZero() || f.MinConfidence > 0
}

// Match reports whether the finding passes every field of the filter.
func (f *Filter) Match(x *Finding) bool {
	if len(f.Causes) > 0 && !slices.Contains(f.Causes, x.Cause) {
		return false
	}
	if len(f.Senders) > 0 && !slices.Contains(f.Senders, x.Sender) {
		return false
	}
	if f.Attention && x.Benign {
		return false
	}
	if x.Confidence < f.MinConfidence {
		return false
	}
	if !f.Since.IsZero() && x.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !x.Time.Before(f.Until) {
		return false
	}
	if len(f.Hosts) > 0 || len(f.Ports) > 0 {
		c, _ := netip.ParseAddrPort(x.Client)
		s, _ := netip.ParseAddrPort(x.Server)
		return f.MatchEnds(c, s)
	}
	return true
}

// MatchEnds applies the host and port fields to a connection's two ends
// (conn.log rows have no cause, so only these fields apply to them).
func (f *Filter) MatchEnds(a, b netip.AddrPort) bool {
	if len(f.Hosts) > 0 && !slices.ContainsFunc(f.Hosts, func(p netip.Prefix) bool {
		return (a.IsValid() && p.Contains(a.Addr().Unmap())) || (b.IsValid() && p.Contains(b.Addr().Unmap()))
	}) {
		return false
	}
	if len(f.Ports) > 0 && !slices.ContainsFunc(f.Ports, func(p uint16) bool {
		return (a.IsValid() && a.Port() == p) || (b.IsValid() && b.Port() == p)
	}) {
		return false
	}
	return true
}

// ParseHost reads an address or a CIDR prefix ("10.0.0.2", "10.0.0.0/8", "fd00::/8").
func ParseHost(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseSender checks a sender name against the vocabulary.
func ParseSender(s string) (cause.Sender, error) {
	switch x := cause.Sender(s); x {
	case cause.Client, cause.Server, cause.Middlebox, cause.SenderUnknown:
		return x, nil
	}
	return "", fmt.Errorf("unknown sender %q (want client, server, middlebox or unknown)", s)
}

// ParseCause checks a cause ID against the vocabulary.
func ParseCause(s string) (cause.ID, error) {
	if id := cause.ID(s); cause.Valid(id) {
		return id, nil
	}
	return "", fmt.Errorf("unknown cause %q (see rstscope causes)", s)
}

// ParseTime reads a --since/--until value: an RFC 3339 time, or a duration
// ("90s", "+5m") counted from start, the capture's first packet.
// relative reports which it was, so a caller without a start can refuse it.
func ParseTime(s string, start time.Time) (t time.Time, relative bool, err error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(s, "+"))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor a duration from the capture's start (90s, 5m)", s)
	}
	return start.Add(d), true, nil
}

// String lists the active fields as flags, for the line that says what was filtered.
func (f *Filter) String() string {
	var parts []string
	for _, c := range f.Causes {
		parts = append(parts, "--cause "+string(c))
	}
	for _, s := range f.Senders {
		parts = append(parts, "--sender "+string(s))
	}
	for _, h := range f.Hosts {
		if h.IsSingleIP() {
			parts = append(parts, "--host "+h.Addr().String())
		} else {
			parts = append(parts, "--host "+h.String())
		}
	}
	for _, p := range f.Ports {
		parts = append(parts, "--port "+strconv.Itoa(int(p)))
	}
	if f.Attention {
		parts = append(parts, "--attention")
	}
	if !f.Since.IsZero() {
		parts = append(parts, "--since "+f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "--until "+f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.MinConfidence > 0 {
		parts = append(parts, "--min-confidence "+strconv.FormatFloat(f.MinConfidence, 'g', -1, 64))
	}
	return strings.Join(parts, " ")
}
