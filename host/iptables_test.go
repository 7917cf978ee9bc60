package host

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseIPTablesSave(t *testing.T) {
	tests := []struct {
		name, file, source string
		want               []string // table/chain/position
	}{
		{"legacy filter and nat", "legacy-save.txt", "iptables-legacy", []string{"filter/INPUT/3", "filter/INPUT/5", "filter/FORWARD/1"}},
		{"ip6tables nft", "nft-save-v6.txt", "ip6tables-nft", []string{"filter/INPUT/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open("../testdata/host/iptables/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rules, err := parseIPTablesSave(f, tt.source)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rules {
				got = append(got, r.Table+"/"+r.Chain+"/"+itoa(r.Handle))
				if r.Source != tt.source || !strings.HasPrefix(r.Text, "-A ") {
					t.Errorf("got source %q text %q, want %q and the -A line", r.Source, r.Text, tt.source)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRejectsWithReset(t *testing.T) {
	tests := []struct {
		name, rule string
		want       bool
	}{
		{"tcp-reset", "-A INPUT -p tcp -j REJECT --reject-with tcp-reset", true},
		{"alias", "-A INPUT -p tcp -j REJECT --reject-with tcp-rst", true},
		{"icmp", "-A INPUT -j REJECT --reject-with icmp-port-unreachable", false},
		{"default reject", "-A INPUT -j REJECT", false},
		{"comment mentions it", `-A INPUT -m comment --comment "REJECT tcp-reset" -j DROP`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rejectsWithReset(strings.Fields(tt.rule)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSavePlan(t *testing.T) {
	tests := []struct {
		name      string
		installed []string
		want      []string
	}{
		{"all flavours", []string{"iptables-legacy-save", "iptables-nft-save", "ip6tables-legacy-save", "ip6tables-nft-save", "iptables-save", "ip6tables-save"},
			[]string{"iptables-legacy-save", "iptables-nft-save", "ip6tables-legacy-save", "ip6tables-nft-save"}},
		{"plain tools only", []string{"iptables-save", "ip6tables-save"}, []string{"iptables-save", "ip6tables-save"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range savePlan(func(c string) bool { return slices.Contains(tt.installed, c) }) {
				got = append(got, s.cmd)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseIPTablesSave(f *testing.F) {
	f.Add("*filter\n-A INPUT -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT\n")
	f.Fuzz(func(t *testing.T, s string) { parseIPTablesSave(strings.NewReader(s), "iptables") })
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
