package host

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseIfInet6(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantAddrs int
		dadFailed []string
		wantErr   bool
	}{
		{"healthy", "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n", 1, nil, false},
		{"dad failed", "fd000000000000000000000000000007 04 40 00 c8     eth0\nfd000000000000000000000000000002 04 40 00 80     eth0\n", 2, []string{"fd00::7"}, false},
		{"tentative is not failed", "fd000000000000000000000000000009 04 40 00 c0     eth0\n", 1, nil, false},
		{"bad address", "zz 04 40 00 80 eth0\n", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := parseIfInet6(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if len(as) != tt.wantAddrs {
				t.Fatalf("got %d addresses, want %d", len(as), tt.wantAddrs)
			}
			fs := auditDADFailed(as)
			if len(fs) != len(tt.dadFailed) {
				t.Fatalf("got %d findings, want %d", len(fs), len(tt.dadFailed))
			}
			for i, a := range tt.dadFailed {
				if want := "dupaddr.ipv6.eth0." + netip.MustParseAddr(a).String(); fs[i].ID != want {
					t.Errorf("got %s, want %s", fs[i].ID, want)
				}
			}
		})
	}
}

func FuzzParseIfInet6(f *testing.F) {
	f.Add("fd000000000000000000000000000007 04 40 00 c8     eth0\n")
	f.Fuzz(func(t *testing.T, s string) { parseIfInet6(strings.NewReader(s)) })
}
