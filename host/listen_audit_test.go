package host

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAuditListeners(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:8080")
	tests := []struct {
		name     string
		l        Listener
		abort    int64
		want     int // findings
		sev      Severity
		evidence string
	}{
		{"idle", Listener{Addr: addr, Queue: 0, Backlog: 128}, 0, 0, 0, ""},
		{"busy but below 80%", Listener{Addr: addr, Queue: 100, Backlog: 128}, 0, 0, 0, ""},
		{"near full", Listener{Addr: addr, Queue: 110, Backlog: 128}, 0, 1, Warning, "dropped and retried"},
		{"at backlog is not yet full", Listener{Addr: addr, Queue: 1, Backlog: 1}, 0, 1, Warning, ""},
		// sk_acceptq_is_full: more than the backlog.
		{"full, resets", Listener{Addr: addr, Queue: 2, Backlog: 1, PID: 7, Command: "api"}, 1, 1, Critical, "overflowing handshakes are reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := auditListeners([]Listener{tt.l}, tt.abort, true)
			if len(fs) != tt.want {
				t.Fatalf("got %d findings, want %d", len(fs), tt.want)
			}
			if tt.want == 0 {
				return
			}
			if fs[0].Severity != tt.sev || fs[0].ID != "listen.127.0.0.1:8080" {
				t.Errorf("got %s %s, want listen.127.0.0.1:8080 %s", fs[0].ID, fs[0].Severity, tt.sev)
			}
			if ev := strings.Join(fs[0].Evidence, "; "); !strings.Contains(ev, tt.evidence) {
				t.Errorf("got evidence %q, want it to contain %q", ev, tt.evidence)
			}
		})
	}
}
