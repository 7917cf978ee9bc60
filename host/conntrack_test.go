package host

import "testing"

func TestAuditConntrack(t *testing.T) {
	keepalive := Sysctls{"net.ipv4.tcp_keepalive_time": {7200}}
	tests := []struct {
		name string
		ct   Sysctls
		id   string
		want Severity
	}{
		{"empty table", Sysctls{"net.netfilter.nf_conntrack_count": {10}, "net.netfilter.nf_conntrack_max": {1000}}, "conntrack.count", Info},
		{"three quarters", Sysctls{"net.netfilter.nf_conntrack_count": {750}, "net.netfilter.nf_conntrack_max": {1000}}, "conntrack.count", Warning},
		{"nearly full", Sysctls{"net.netfilter.nf_conntrack_count": {900}, "net.netfilter.nf_conntrack_max": {1000}}, "conntrack.count", Critical},
		{"forgets before keepalive", Sysctls{"net.netfilter.nf_conntrack_tcp_timeout_established": {3600}}, "conntrack.tcp_timeout_established", Warning},
		{"default five days", Sysctls{"net.netfilter.nf_conntrack_tcp_timeout_established": {432000}}, "conntrack.tcp_timeout_established", Info},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := auditConntrack(tt.ct, keepalive)
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1", len(fs))
			}
			if fs[0].ID != tt.id || fs[0].Severity != tt.want {
				t.Errorf("got %s %s, want %s %s", fs[0].ID, fs[0].Severity, tt.id, tt.want)
			}
		})
	}
	if fs := auditConntrack(Sysctls{}, keepalive); len(fs) != 0 {
		t.Errorf("got %d findings without conntrack, want 0 (module not loaded)", len(fs))
	}
}
