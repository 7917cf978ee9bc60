package host

import (
	"strings"
	"testing"
	"time"
)

func TestParseCounters(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Counters
		wantErr bool
	}{
		{"pair", "TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\n", Counters{"TcpExt.ListenOverflows": 3, "TcpExt.ListenDrops": 4}, false},
		{"negative MaxConn skipped", "Tcp: MaxConn OutRsts\nTcp: -1 9\n", Counters{"Tcp.OutRsts": 9}, false},
		{"two sections", "Ip: Forwarding\nIp: 1\nTcp: OutRsts\nTcp: 2\n", Counters{"Ip.Forwarding": 1, "Tcp.OutRsts": 2}, false},
		{"beyond int64", "TcpExt: InOctets\nTcpExt: 18446744073709551615\n", Counters{"TcpExt.InOctets": 18446744073709551615}, false},
		{"missing value line", "TcpExt: ListenOverflows\n", Counters{}, true},
		{"mismatched prefixes", "TcpExt: A\nIpExt: 1\n", Counters{}, true},
		{"count mismatch", "TcpExt: A B\nTcpExt: 1\n", Counters{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Counters{}
			err := parseCounters(strings.NewReader(tt.in), got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("got %s = %d, want %d", k, got[k], v)
				}
			}
		})
	}
}

func TestAuditCounters(t *testing.T) {
	find := func(fs []Finding, id string) *Finding {
		for i := range fs {
			if fs[i].ID == id {
				return &fs[i]
			}
		}
		return nil
	}
	tests := []struct {
		name        string
		before      Counters
		after       Counters
		interval    time.Duration
		id          string
		want        Severity
		wantSummary string
	}{
		{"overflows since boot", Counters{"TcpExt.ListenOverflows": 17}, nil, 0, "counter.TcpExt.ListenOverflows", Warning, "= 17 since boot"},
		{"zero overflows", Counters{"TcpExt.ListenOverflows": 0}, nil, 0, "counter.TcpExt.ListenOverflows", Info, "= 0 since boot"},
		{"absent is not zero", Counters{}, nil, 0, "counter.TcpExt.ListenOverflows", Info, "absent"},
		{"abort on data is background", Counters{"TcpExt.TCPAbortOnData": 900}, nil, 0, "counter.TcpExt.TCPAbortOnData", Info, "= 900"},
		{"overflows rising", Counters{"TcpExt.ListenOverflows": 17}, Counters{"TcpExt.ListenOverflows": 37}, 10 * time.Second, "counter.TcpExt.ListenOverflows", Warning, "+20 in 10s (2.00/s)"},
		{"old overflows, none now", Counters{"TcpExt.ListenOverflows": 17}, Counters{"TcpExt.ListenOverflows": 17}, time.Second, "counter.TcpExt.ListenOverflows", Info, "+0 in 1s"},
		{"rate per cause", Counters{"TcpExt.ListenOverflows": 0, "TcpExt.ListenDrops": 0}, Counters{"TcpExt.ListenOverflows": 5, "TcpExt.ListenDrops": 5}, 5 * time.Second, "rate.accept-queue-overflow", Info, "2.00/s over 5s"},
		{"wrapped counter rises by 0", Counters{"Tcp.OutRsts": 10}, Counters{"Tcp.OutRsts": 3}, time.Second, "counter.Tcp.OutRsts", Info, "+0 in 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := find(auditCounters(tt.before, tt.after, tt.interval), tt.id)
			if f == nil {
				t.Fatalf("got no finding %s", tt.id)
			}
			if f.Severity != tt.want {
				t.Errorf("got severity %s, want %s", f.Severity, tt.want)
			}
			if !strings.Contains(f.Summary, tt.wantSummary) {
				t.Errorf("got summary %q, want it to contain %q", f.Summary, tt.wantSummary)
			}
		})
	}
}

func FuzzParseCounters(f *testing.F) {
	f.Add("TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\nTcp: MaxConn\nTcp: -1\n")
	f.Fuzz(func(t *testing.T, s string) { parseCounters(strings.NewReader(s), Counters{}) })
}

func TestAuditCountersNoUnknownRate(t *testing.T) {
	fs := auditCounters(Counters{"Tcp.OutRsts": 0}, Counters{"Tcp.OutRsts": 50}, time.Second)
	for _, f := range fs {
		if f.ID == "rate.unknown" {
			t.Errorf("got %q, want no rate.unknown: OutRsts counts every cause", f.Summary)
		}
	}
}
