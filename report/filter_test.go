package report

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
)

func TestFilterMatch(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	f := Finding{Time: t0, Client: "10.0.0.2:40000", Server: "[fd00::1]:443", Cause: cause.HalfOpen, Sender: cause.Server, Confidence: 0.7}
	benign := f
	benign.Benign = true
	host := func(s string) []netip.Prefix {
		p, err := ParseHost(s)
		if err != nil {
			t.Fatal(err)
		}
		return []netip.Prefix{p}
	}
	for _, tt := range []struct {
		name   string
		filter Filter
		x      Finding
		want   bool
	}{
		{"zero", Filter{}, f, true},
		{"cause", Filter{Causes: []cause.ID{cause.HalfOpen}}, f, true},
		{"other cause", Filter{Causes: []cause.ID{cause.ClosedPort}}, f, false},
		{"either cause", Filter{Causes: []cause.ID{cause.ClosedPort, cause.HalfOpen}}, f, true},
		{"sender", Filter{Senders: []cause.Sender{cause.Client}}, f, false},
		{"client host", Filter{Hosts: host("10.0.0.2")}, f, true},
		{"server host v6", Filter{Hosts: host("[fd00::1]")}, f, true},
		{"prefix", Filter{Hosts: host("10.0.0.0/8")}, f, true},
		{"other host", Filter{Hosts: host("10.0.0.3")}, f, false},
		{"client port", Filter{Ports: []uint16{40000}}, f, true},
		{"server port", Filter{Ports: []uint16{443}}, f, true},
		{"other port", Filter{Ports: []uint16{80}}, f, false},
		{"host and port at different ends", Filter{Hosts: host("10.0.0.2"), Ports: []uint16{443}}, f, true},
		{"attention keeps", Filter{Attention: true}, f, true},
		{"attention hides benign", Filter{Attention: true}, benign, false},
		{"since inclusive", Filter{Since: t0}, f, true},
		{"since after", Filter{Since: t0.Add(time.Nanosecond)}, f, false},
		{"until exclusive", Filter{Until: t0}, f, false},
		{"until after", Filter{Until: t0.Add(time.Nanosecond)}, f, true},
		{"min confidence equal", Filter{MinConfidence: 0.7}, f, true},
		{"min confidence above", Filter{MinConfidence: 0.71}, f, false},
		{"AND across fields", Filter{Causes: []cause.ID{cause.HalfOpen}, Senders: []cause.Sender{cause.Client}}, f, false},
	} {
		if got := tt.filter.Match(&tt.x); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
		if tt.name != "zero" && !tt.filter.Active() {
			t.Errorf("%s: filter not Active", tt.name)
		}
	}
	if (&Filter{}).Active() {
		t.Error("zero filter is Active")
	}
}

func TestParseTime(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-25T11:00:00Z":        start.Add(time.Hour),
		"2026-11-25T12:00:00.5+01:00": start.Add(time.Hour + 500*time.Millisecond),
		"90s":                         start.Add(90 * time.Second),
		"+5m":                         start.Add(5 * time.Minute),
		"1h2m":                        start.Add(time.Hour + 2*time.Minute),
	} {
		got, _, err := ParseTime(in, start)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, _, err := ParseTime("yesterday", start); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("ParseTime(yesterday): err %v, want one naming the accepted forms", err)
	}
}

func TestFilterString(t *testing.T) {
	h, _ := ParseHost("10.0.0.0/8")
	f := Filter{Causes: []cause.ID{cause.ClosedPort}, Hosts: []netip.Prefix{h}, Ports: []uint16{443}, Attention: true, MinConfidence: 0.8}
	if got, want := f.String(), "--cause closed-port --host 10.0.0.0/8 --port 443 --attention --min-confidence 0.8"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
