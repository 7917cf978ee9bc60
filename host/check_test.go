package host

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
)

const fixtureRoot = Root("../testdata/host")

// fakeSources stand in for the live kernel: a full listener owned by the
// fixture's pid 4242, one nftables reject rule, the fixture iptables-save
// texts, and one duplicate IPv4 address.
func fakeSources(o Options) Options {
	o.Listeners = func() ([]Listener, error) {
		return []Listener{
			{Addr: netip.MustParseAddrPort("0.0.0.0:80"), Queue: 129, Backlog: 128, Inode: 31337},
			{Addr: netip.MustParseAddrPort("[::]:22"), Queue: 0, Backlog: 128, Inode: 999},
		}, nil
	}
	o.NFTRejects = func() ([]RejectRule, error) {
		return []RejectRule{{Source: "nftables", Family: "inet", Table: "filter", Chain: "input", Handle: 7, Text: "tcp dport 23 reject with tcp reset"}}, nil
	}
	o.HaveCommand = func(c string) bool { return c == "iptables-legacy-save" || c == "ip6tables-nft-save" }
	o.IPTablesSave = func(_ context.Context, c string) ([]byte, error) {
		name := map[string]string{"iptables-legacy-save": "legacy-save.txt", "ip6tables-nft-save": "nft-save-v6.txt"}[c]
		return os.ReadFile(string(fixtureRoot) + "/iptables/" + name)
	}
	o.Duplicates = func(time.Duration) ([]Duplicate, error) {
		return []Duplicate{{Iface: "eth0", Addr: netip.MustParseAddr("192.0.2.2"), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}}}, nil
	}
	return o
}

func TestCheckFixture(t *testing.T) {
	rep, err := Check(context.Background(), fakeSources(Options{Root: fixtureRoot}))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Finding{}
	for _, f := range rep.Findings {
		byID[f.ID] = f
	}
	tests := []struct {
		id    string
		sev   Severity
		cause cause.ID
		text  string // in the summary
	}{
		{"sysctl.tcp_abort_on_overflow", Warning, cause.AcceptQueueOverflow, "= 1"},
		{"sysctl.somaxconn", Warning, cause.AcceptQueueOverflow, "= 128"},
		{"sysctl.tcp_syncookies", Info, cause.AcceptQueueOverflow, "= 1"},
		{"sysctl.tcp_max_orphans", Warning, cause.ResourceExhaustion, "70000 orphaned"},
		{"conntrack.count", Critical, cause.ResourceExhaustion, "240000 of 262144"},
		{"conntrack.tcp_timeout_established", Warning, cause.IdleTimeout, "before the first keepalive"},
		{"counter.TcpExt.ListenOverflows", Warning, cause.AcceptQueueOverflow, "= 17 since boot"},
		{"counter.TcpExt.TCPChallengeACK", Info, cause.SYNConflict, "absent"},
		{"counter.Tcp.OutRsts", Info, cause.Unknown, "= 1200"},
		{"dupaddr.ipv6.eth0.fd00::7", Critical, cause.DuplicateIP, "failed duplicate address detection"},
		{"dupaddr.ipv4.eth0.192.0.2.2", Critical, cause.DuplicateIP, "02:00:00:00:00:09"},
		{"listen.0.0.0.0:80", Critical, cause.AcceptQueueOverflow, "owned by nginx (pid 4242)"},
		{"nftables.inet.filter.input.7", Warning, cause.FirewallReject, "tcp dport 23"},
		{"iptables-legacy.filter.INPUT.3", Warning, cause.FirewallReject, "--dport 25"},
		{"iptables-legacy.filter.FORWARD.1", Warning, cause.FirewallReject, "-A FORWARD"},
		{"ip6tables-nft.filter.INPUT.1", Warning, cause.FirewallReject, "2001:db8::/32"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f, ok := byID[tt.id]
			if !ok {
				t.Fatalf("got no finding %s", tt.id)
			}
			if f.Severity != tt.sev || f.Cause != tt.cause {
				t.Errorf("got %s %s, want %s %s", f.Severity, f.Cause, tt.sev, tt.cause)
			}
			if !strings.Contains(f.Summary, tt.text) {
				t.Errorf("got summary %q, want it to contain %q", f.Summary, tt.text)
			}
		})
	}
	if _, ok := byID["listen.[::]:22"]; ok {
		t.Errorf("got a finding for the idle listener [::]:22, want none")
	}
	if len(rep.Unreadable) != 0 {
		t.Errorf("got unreadable %+v, want none", rep.Unreadable)
	}
	for i := 1; i < len(rep.Findings); i++ {
		if rep.Findings[i].Severity > rep.Findings[i-1].Severity {
			t.Fatalf("got %s after %s, want most severe first", rep.Findings[i].ID, rep.Findings[i-1].ID)
		}
	}
}

// TestCheckFixtureUnreadable runs with no fakes: the live kernel sources
// must not describe this machine as if it were the fixture, and files the
// fixture lacks are reported, not read as zero.
func TestCheckFixtureUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/proc/sys/net/ipv4", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/proc/sys/net/ipv4/tcp_abort_on_overflow", []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), Options{Root: Root(dir)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range rep.Unreadable {
		got[u.Path] = u.Error
	}
	tests := []struct{ path, err string }{
		{"sock_diag", errSkippedUnderRoot.Error()},
		{"AF_PACKET", errSkippedUnderRoot.Error()},
		{"iptables-save", errSkippedUnderRoot.Error()},
		{"/proc/net/netstat", "no such file or directory"},
		{"/proc/sys/net/core/somaxconn", errAbsentSysctl.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if e, ok := got[tt.path]; !ok || e != tt.err {
				t.Errorf("got %q (listed %v), want %q", e, ok, tt.err)
			}
		})
	}
	if _, ok := got["/proc/sys/net/netfilter/nf_conntrack_max"]; ok {
		t.Errorf("got conntrack listed unreadable, want it absent silently (module not loaded)")
	}
}

func TestCheckInterval(t *testing.T) {
	rep, err := Check(context.Background(), fakeSources(Options{Root: fixtureRoot, Interval: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.ID == "counter.TcpExt.ListenOverflows" {
			if f.Severity != Info || !strings.Contains(f.Summary, "+0 in 10ms") {
				t.Errorf("got %s %q, want info with +0 in 10ms (the fixture does not change)", f.Severity, f.Summary)
			}
			return
		}
	}
	t.Errorf("got no counter.TcpExt.ListenOverflows finding")
}

func TestCheckCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, fakeSources(Options{Root: fixtureRoot, Interval: time.Hour})); err == nil {
		t.Errorf("got no error, want the context's")
	}
}
