//go:build linux

package lab

import (
	"strings"
	"testing"

	"github.com/rstscope/rstscope/cause"
)

func TestScenarioRegistry(t *testing.T) {
	seen := map[string]bool{}
	covered := map[cause.ID]bool{}
	for _, s := range Scenarios() {
		if seen[s.ID()] {
			t.Errorf("scenario %s registered twice", s.ID())
		}
		seen[s.ID()] = true
		covered[s.Cause] = true
		if s.run == nil || s.Summary == "" {
			t.Errorf("scenario %s: missing run or summary", s.ID())
		}
		if s.Name != "control" && s.Cause != cause.ID(s.Name) {
			t.Errorf("scenario %s yields %s: a scenario is named for its cause", s.ID(), s.Cause)
		}
		for _, f := range s.Families() {
			if got := s.DirName(f); !strings.HasPrefix(got, s.ID()+"-ipv") {
				t.Errorf("DirName(%d) = %q", f, got)
			}
		}
	}
	for _, want := range []cause.ID{cause.ClosedPort, cause.SYNConflict, cause.AcceptQueueOverflow, cause.HalfOpen,
		cause.FirewallReject, cause.TimeWaitAssassination, cause.ApplicationAbort, cause.IdleTimeout,
		cause.UnreadDataClose, cause.DataAfterClose, cause.Injected, cause.DuplicateIP} {
		if !covered[want] {
			t.Errorf("no scenario yields %s", want)
		}
	}
	if got := Lookup("firewall-reject"); len(got) != 6 {
		t.Errorf("Lookup(firewall-reject) found %d scenarios, want its 6 variants", len(got))
	}
	if got := Lookup("injected"); len(got) != 3 {
		t.Errorf("Lookup(injected) found %d scenarios, want its 3 variants", len(got))
	}
	for id := range gaps {
		if len(Lookup(id)) != 1 {
			t.Errorf("gap %s names no scenario", id)
		}
	}
	if _, ok := AnalyzeGap("injected-both-ways-ipv6"); ok {
		t.Error("injected-both-ways is analysed right since the crafted-TTL rule: its gap must be gone")
	}
	if got := Lookup("firewall-reject-host"); len(got) != 1 {
		t.Errorf("Lookup(firewall-reject-host) found %d scenarios, want 1", len(got))
	}
}
