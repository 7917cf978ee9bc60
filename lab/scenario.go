// Package lab reproduces every reset cause with the real kernel: each
// scenario builds its own network namespaces (client, router, server), runs
// real sockets across them, captures both ends to pcap, and writes beside
// the captures the verdict it knows is right for every reset and what the
// kernel itself reported. One file per scenario, named for its cause.
package lab

import (
	"sort"
	"time"

	"github.com/rstscope/rstscope/cause"
)

// Scenario is one reproducible reset situation.
type Scenario struct {
	Name    string   // the cause it yields, e.g. "firewall-reject"; "control" for none
	Variant string   // "" or a short word, e.g. "router" or "host"
	Cause   cause.ID // the cause of the reset it is about; "" for the control
	Summary string   // one sentence: what happens

	ipv4Only bool
	layout   layout
	timeout  time.Duration
	// run drives the traffic; the captures and the trace are running.
	run func(e *env) error
	// verdict names the cause and sender of one reset on the wire; nil
	// means Cause, and the sender the reset's source address belongs to.
	verdict func(e *env, r Reset) (cause.ID, cause.Sender)
	// wire, when set, is what a capture alone can show for this scenario's
	// resets because the wire cannot tell the real cause apart from it, and
	// why; end-to-end tests of analyze compare with it (watch, which sees
	// the kernel, still tells the causes apart).
	wire    cause.ID
	wireWhy string
	client  count // resets in client.pcap
	server  count // resets in server.pcap
	kernel  kernelWant
}

// count bounds how many resets a capture holds: min ≤ n ≤ max, max < 0 for
// no upper bound.
type count struct{ min, max int }

func exactly(n int) count { return count{n, n} }
func atLeast(n int) count { return count{n, -1} }

func (c count) ok(n int) bool { return n >= c.min && (c.max < 0 || n <= c.max) }

// kernelWant is what the kernel must report for the scenario to count as
// having done what it claims.
type kernelWant struct {
	// reasons must each appear on a tcp_send_reset event of the lab's flows.
	reasons []string
	// noSendReset: the kernel's TCP stack sent no reset on the lab's flows
	// (netfilter's nf_send_reset never reaches the TCP tracepoints).
	noSendReset bool
	// counter: a reject rule's nftables counter must have counted.
	counter bool
}

// ID names the scenario and its variant: "firewall-reject-router".
func (s Scenario) ID() string {
	if s.Variant == "" {
		return s.Name
	}
	return s.Name + "-" + s.Variant
}

// Families lists the IP versions the scenario runs with.
func (s Scenario) Families() []int {
	if s.ipv4Only {
		return []int{4}
	}
	return []int{4, 6}
}

// DirName is the directory a run's files go in: "<id>-ipv4".
func (s Scenario) DirName(family int) string {
	if family == 6 {
		return s.ID() + "-ipv6"
	}
	return s.ID() + "-ipv4"
}

// layout says how a scenario's namespaces are wired.
type layout int

const (
	// routed: client ─veth─ router ─veth─ server, forwarding on, so the
	// server's packets reach the client one hop (one TTL) later than the
	// router's own.
	routed layout = iota
	// lan: client, server and server2 on one bridge inside the router
	// namespace, server and server2 holding the same address.
	lan
)

var registry []Scenario

// register adds a scenario; each scenario file calls it from init.
func register(s Scenario) { registry = append(registry, s) }

// Scenarios returns every scenario, sorted by ID.
func Scenarios() []Scenario {
	out := append([]Scenario(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Lookup finds scenarios by ID, or by Name for all of that name's variants.
func Lookup(name string) []Scenario {
	var out []Scenario
	for _, s := range Scenarios() {
		if s.ID() == name || s.Name == name {
			out = append(out, s)
		}
	}
	return out
}
