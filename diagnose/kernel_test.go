package diagnose

import (
	"cmp"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/kernel"
)

// fakeAddrs says which addresses each namespace holds.
type fakeAddrs map[uint32][]netip.Addr

// Forget: the fake's namespaces never change.
func (f fakeAddrs) Forget(uint32) {}

// Prime: the fake knows its namespaces from the start.
func (f fakeAddrs) Prime() {}

// Forwards: the fake router forwards, nothing else.
func (f fakeAddrs) Forwards(netns uint32, a netip.Addr) (bool, bool) {
	return netns == 4026532001, true
}

// Elsewhere: another of the fake's namespaces holding from's address (the
// fake's namespaces hold every connection of their addresses).
func (f fakeAddrs) Elsewhere(netns uint32, from, _ netip.AddrPort) (uint32, bool) {
	a := from.Addr()
	for ns, as := range f {
		if ns == netns {
			continue
		}
		for _, x := range as {
			if x == a {
				return ns, true
			}
		}
	}
	return 0, false
}

func (f fakeAddrs) Local(netns uint32, a netip.Addr) (bool, bool) {
	as, ok := f[netns]
	if !ok {
		return true, false
	}
	for _, x := range as {
		if x == a {
			return true, true
		}
	}
	return false, true
}

const sixEighteen = `print fmt: "...", __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, { 1, "NO_SOCKET" }, { 11, "TCP_ABORT_ON_CLOSE" })`

func TestKernelFinding(t *testing.T) {
	names, err := kernel.NamesFromFormat(sixEighteen)
	if err != nil {
		t.Fatal(err)
	}
	srv := netip.MustParseAddrPort("10.77.2.2:7777")
	cli := netip.MustParseAddrPort("10.77.1.2:40000")
	router := uint32(4026532001)
	lone := netip.MustParseAddrPort("10.77.2.3:7777")
	addrs := fakeAddrs{router: {netip.MustParseAddr("10.77.1.1"), netip.MustParseAddr("10.77.2.1")}, 4026532002: {srv.Addr()},
		4026532004: {srv.Addr()}, // the lab's server2: the server's address, its link up
		4026532005: {lone.Addr()}}
	for _, c := range []struct {
		name     string
		r        kernel.Reset
		cause    cause.ID
		sender   cause.Sender
		dir      string
		evidence string
		client   string // cli when empty
	}{
		{name: "a router rejects with the server's address",
			r:     kernel.Reset{Event: kernel.Event{Kind: kernel.Wire, From: srv, To: cli, NetNS: router, Reason: kernel.ReasonUnknown, Context: kernel.ContextKernel}},
			cause: cause.FirewallReject, sender: cause.Middlebox, dir: "sent", evidence: "not this host's"},
		{name: "a program on the router forges the server's reset with a packet socket",
			r:     kernel.Reset{Event: kernel.Event{Kind: kernel.Wire, FromSock: true, From: srv, To: cli, NetNS: router, Reason: kernel.ReasonUnknown, Context: kernel.ContextKernel}},
			cause: cause.Injected, sender: cause.Middlebox, dir: "sent", evidence: "a raw or packet socket as its owner"},
		{name: "the server host rejects with its own address",
			r:     kernel.Reset{Event: kernel.Event{Kind: kernel.Wire, From: srv, To: cli, NetNS: 4026532002, Reason: kernel.ReasonUnknown, Context: kernel.ContextKernel}},
			cause: cause.FirewallReject, sender: cause.Server, dir: "sent"},
		{name: "a NAT router's own stack answers a flow whose mapping expired",
			r: kernel.Reset{Event: kernel.Event{Kind: kernel.Sent, From: netip.MustParseAddrPort("10.77.2.1:40000"), To: netip.MustParseAddrPort("10.77.2.2:7777"),
				NetNS: 4026532001, Reason: 1, InFlags: 0x18, Context: kernel.ContextKernel}},
			cause: cause.IdleTimeout, sender: cause.Middlebox, dir: "sent", evidence: "NAT mapping", client: "10.77.2.1:40000"},
		{name: "sent in one namespace, received in another: one finding",
			r: kernel.Reset{
				Event: kernel.Event{Kind: kernel.Sent, From: srv, To: cli, NetNS: 4026532002, Reason: 11, State: 7, Context: kernel.ContextProcess, PID: 5},
				Recv:  kernel.Event{Kind: kernel.Received, From: srv, To: cli, NetNS: 4026532003, Reason: kernel.ReasonUnknown, State: 1},
			},
			cause: cause.UnreadDataClose, sender: cause.Server, dir: "sent", evidence: "received on this host too in netns 4026532003, by a socket in TCP_ESTABLISHED"},
		{name: "a second namespace with the server's address answers a segment it never had",
			r:     kernel.Reset{Event: kernel.Event{Kind: kernel.Sent, From: srv, To: cli, NetNS: 4026532004, Reason: 1, InFlags: 0x18, Context: kernel.ContextKernel}},
			cause: cause.DuplicateIP, sender: cause.SenderUnknown, dir: "sent", evidence: "another network namespace on this host (inode 4026532002)"},
		{name: "a host alone with its address answers a segment it no longer has: half-open",
			r:     kernel.Reset{Event: kernel.Event{Kind: kernel.Sent, From: lone, To: cli, NetNS: 4026532005, Reason: 1, InFlags: 0x18, Context: kernel.ContextKernel}},
			cause: cause.HalfOpen, sender: cause.Server, dir: "sent"},
		{name: "a SYN to the twin's closed port is a closed port",
			r:     kernel.Reset{Event: kernel.Event{Kind: kernel.Sent, From: srv, To: cli, NetNS: 4026532004, Reason: 1, InFlags: 0x02, Context: kernel.ContextKernel}},
			cause: cause.ClosedPort, sender: cause.Server, dir: "sent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: t.TempDir()}, addrs)
			a.Observe(&c.r.Event)
			f := a.Finding(&c.r, time.Unix(0, 0))
			if f.Cause != c.cause || f.Sender != c.sender || f.Direction != c.dir {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", f.Cause, f.Sender, f.Direction, c.cause, c.sender, c.dir)
			}
			if want := cmp.Or(c.client, cli.String()); f.Client != want {
				t.Errorf("got client %s, want %s", f.Client, want)
			}
			if ev := strings.Join(f.Evidence, "; "); !strings.Contains(ev, c.evidence) {
				t.Errorf("got evidence %q, want it to say %q", ev, c.evidence)
			}
		})
	}
}
