package host

import (
	"slices"
	"testing"

	"github.com/rstscope/rstscope/cause"
)

func TestParseSysctl(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int64
		wantErr bool
	}{
		{"single", "1\n", []int64{1}, false},
		{"tcp_mem triple", "287898\t383866\t575796\n", []int64{287898, 383866, 575796}, false},
		{"empty", "\n", nil, true},
		{"not a number", "cubic\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSysctl([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAuditSysctls(t *testing.T) {
	tests := []struct {
		name     string
		sys      Sysctls
		sockstat map[string]int64
		id       string
		want     Severity
		cause    cause.ID
	}{
		{"abort on overflow set", Sysctls{"net.ipv4.tcp_abort_on_overflow": {1}}, nil, "sysctl.tcp_abort_on_overflow", Warning, cause.AcceptQueueOverflow},
		{"abort on overflow default", Sysctls{"net.ipv4.tcp_abort_on_overflow": {0}}, nil, "sysctl.tcp_abort_on_overflow", Info, cause.AcceptQueueOverflow},
		{"small somaxconn", Sysctls{"net.core.somaxconn": {128}}, nil, "sysctl.somaxconn", Warning, cause.AcceptQueueOverflow},
		{"syncookies off", Sysctls{"net.ipv4.tcp_syncookies": {0}}, nil, "sysctl.tcp_syncookies", Warning, cause.AcceptQueueOverflow},
		{"keepalive default", Sysctls{"net.ipv4.tcp_keepalive_time": {7200}}, nil, "sysctl.tcp_keepalive_time", Warning, cause.IdleTimeout},
		{"keepalive short", Sysctls{"net.ipv4.tcp_keepalive_time": {300}}, nil, "sysctl.tcp_keepalive_time", Info, cause.IdleTimeout},
		{"rfc1337 off", Sysctls{"net.ipv4.tcp_rfc1337": {0}}, nil, "sysctl.tcp_rfc1337", Warning, cause.TimeWaitAssassination},
		{"fin timeout short", Sysctls{"net.ipv4.tcp_fin_timeout": {5}}, nil, "sysctl.tcp_fin_timeout", Warning, cause.DataAfterClose},
		{"tw_reuse everywhere", Sysctls{"net.ipv4.tcp_tw_reuse": {1}}, nil, "sysctl.tcp_tw_reuse", Warning, cause.SYNConflict},
		{"tw_reuse loopback only", Sysctls{"net.ipv4.tcp_tw_reuse": {2}}, nil, "sysctl.tcp_tw_reuse", Info, cause.SYNConflict},
		{"orphans near limit", Sysctls{"net.ipv4.tcp_max_orphans": {1000}}, map[string]int64{"TCP.orphan": 950}, "sysctl.tcp_max_orphans", Critical, cause.ResourceExhaustion},
		{"orphans half", Sysctls{"net.ipv4.tcp_max_orphans": {1000}}, map[string]int64{"TCP.orphan": 500}, "sysctl.tcp_max_orphans", Warning, cause.ResourceExhaustion},
		{"orphans unknown", Sysctls{"net.ipv4.tcp_max_orphans": {1000}}, nil, "sysctl.tcp_max_orphans", Info, cause.ResourceExhaustion},
		{"tcp_mem past pressure", Sysctls{"net.ipv4.tcp_mem": {10, 20, 30}}, map[string]int64{"TCP.mem": 25}, "sysctl.tcp_mem", Warning, cause.ResourceExhaustion},
		{"tcp_mem past hard limit", Sysctls{"net.ipv4.tcp_mem": {10, 20, 30}}, map[string]int64{"TCP.mem": 30}, "sysctl.tcp_mem", Critical, cause.ResourceExhaustion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := auditSysctls(tt.sys, tt.sockstat)
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1", len(fs))
			}
			f := fs[0]
			if f.ID != tt.id || f.Severity != tt.want || f.Cause != tt.cause {
				t.Errorf("got %s %s %s, want %s %s %s", f.ID, f.Severity, f.Cause, tt.id, tt.want, tt.cause)
			}
			if (f.Severity > Info) != (len(f.Advice) > 0) {
				t.Errorf("got advice %q for severity %s, want advice exactly when risky", f.Advice, f.Severity)
			}
		})
	}
}
