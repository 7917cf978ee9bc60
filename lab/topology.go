//go:build linux

package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
)

// The interface names inside the namespaces. Only the router has several.
const (
	ifEndpoint  = "eth0" // client's, server's and server2's single interface
	ifRouterC   = "c0"   // router side of the client link
	ifRouterS   = "s0"   // router side of the server link
	ifRouterS2  = "s1"   // lan only: router side of server2's link
	ifRouterBr  = "br0"  // lan only
	prefixLenV4 = 24
	prefixLenV6 = 64
)

// topology is one scenario's namespaces and addresses.
type topology struct {
	layout                 layout
	port                   uint16 // the server's port, one per run: see serverPort
	family                 int
	client, router, server *netns
	server2                *netns // lan only
	clientIP, serverIP     netip.Addr
	routerCIP, routerSIP   netip.Addr // routed only: the router's addresses
	clientMAC, serverMAC   net.HardwareAddr
	server2MAC, routerCMAC net.HardwareAddr
	routerSMAC             net.HardwareAddr
}

var runSeq atomic.Int64

// serverPort picks the server's port for run seq of process pid. Every run
// uses the same addresses in its own namespaces, but the reset tracepoints
// are global: a port of its own is what tells a run's kernel events from
// those of a lab run in another process at the same time (go test ./...
// runs packages in parallel). Ports fall in 10000-59999.
func serverPort(pid int, seq int64) uint16 {
	// Below Linux's default ephemeral range (32768–60999), as real
	// services listen: watch tells a server from a client by that range
	// once the handshake is over.
	return uint16(10000 + (int64(pid)*97+seq*7919)%22000)
}

// addrs returns the addresses of the layout for a family: client, server,
// router on the client link, router on the server link.
func addrs(l layout, family int) (c, s, rc, rs netip.Addr) {
	p := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	switch {
	case l == lan && family == 4:
		return p("10.99.2.3"), p("10.99.2.2"), netip.Addr{}, netip.Addr{}
	case l == lan:
		return p("fd99:0:0:2::3"), p("fd99:0:0:2::2"), netip.Addr{}, netip.Addr{}
	case family == 4:
		return p("10.99.1.2"), p("10.99.2.2"), p("10.99.1.1"), p("10.99.2.1")
	default:
		return p("fd99:0:0:1::2"), p("fd99:0:0:2::2"), p("fd99:0:0:1::1"), p("fd99:0:0:2::1")
	}
}

// buildTopology creates the namespaces and links. On error it removes what
// it made; otherwise the caller calls teardown.
func buildTopology(ctx context.Context, l layout, family int) (t *topology, err error) {
	t = &topology{layout: l, family: family}
	t.clientIP, t.serverIP, t.routerCIP, t.routerSIP = addrs(l, family)
	seq := runSeq.Add(1)
	t.port = serverPort(os.Getpid(), seq)
	base := fmt.Sprintf("rstlab-%d-%d-", os.Getpid(), seq)
	defer func() {
		if err != nil {
			t.teardown()
			t = nil
		}
	}()
	roles := []struct {
		p    **netns
		name string
	}{{&t.client, "c"}, {&t.router, "r"}, {&t.server, "s"}}
	if l == lan {
		roles = append(roles, struct {
			p    **netns
			name string
		}{&t.server2, "s2"})
	}
	for _, r := range roles {
		n, err := newNetns(ctx, base+r.name)
		if err != nil {
			return t, err
		}
		*r.p = n
		if err := t.prepareSysctls(n); err != nil {
			return t, err
		}
	}
	if err := t.wire(ctx); err != nil {
		return t, err
	}
	return t, t.readMACs()
}

// prepareSysctls makes a fresh namespace quiet and quick: for IPv4 runs no
// IPv6 at all (no MLD or router solicitations in the captures), for IPv6
// runs no duplicate address detection delay and no autoconfiguration.
func (t *topology) prepareSysctls(n *netns) error {
	set := [][2]string{}
	if t.family == 4 {
		set = append(set, [2]string{"net.ipv6.conf.all.disable_ipv6", "1"}, [2]string{"net.ipv6.conf.default.disable_ipv6", "1"})
	} else {
		for _, k := range []string{"accept_dad", "router_solicitations", "accept_ra"} {
			set = append(set, [2]string{"net.ipv6.conf.default." + k, "0"}, [2]string{"net.ipv6.conf.all." + k, "0"})
		}
	}
	if n == t.router && t.layout == routed {
		set = append(set, [2]string{"net.ipv4.ip_forward", "1"}, [2]string{"net.ipv6.conf.all.forwarding", "1"})
	}
	for _, kv := range set {
		if err := n.sysctl(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func (t *topology) wire(ctx context.Context) error {
	plen := prefixLenV4
	if t.family == 6 {
		plen = prefixLenV6
	}
	cidr := func(a netip.Addr) string { return netip.PrefixFrom(a, plen).String() }
	// Each endpoint's eth0 is created inside its namespace with its peer
	// directly in the router's: no name ever exists in the host namespace,
	// so concurrent runs cannot collide there.
	type link struct {
		endpoint *netns
		peer     string // the router's side
	}
	links := []link{{t.client, ifRouterC}, {t.server, ifRouterS}}
	if t.layout == lan {
		links = append(links, link{t.server2, ifRouterS2})
	}
	for _, lk := range links {
		if err := lk.endpoint.ip(ctx, "link", "add", ifEndpoint, "type", "veth", "peer", "name", lk.peer, "netns", t.router.name); err != nil {
			return fmt.Errorf("creating veth: %w", err)
		}
	}
	steps := [][]string{}
	r := func(args ...string) { steps = append(steps, args) }
	if t.layout == routed {
		r("r", "addr", "add", cidr(t.routerCIP), "dev", ifRouterC, "nodad")
		r("r", "addr", "add", cidr(t.routerSIP), "dev", ifRouterS, "nodad")
		r("r", "link", "set", ifRouterC, "up")
		r("r", "link", "set", ifRouterS, "up")
		r("c", "addr", "add", cidr(t.clientIP), "dev", ifEndpoint, "nodad")
		r("s", "addr", "add", cidr(t.serverIP), "dev", ifEndpoint, "nodad")
		r("c", "link", "set", ifEndpoint, "up")
		r("s", "link", "set", ifEndpoint, "up")
		r("c", "route", "add", "default", "via", t.routerCIP.String())
		r("s", "route", "add", "default", "via", t.routerSIP.String())
	} else {
		r("r", "link", "add", "name", ifRouterBr, "type", "bridge")
		for _, p := range []string{ifRouterC, ifRouterS, ifRouterS2} {
			r("r", "link", "set", p, "master", ifRouterBr)
			r("r", "link", "set", p, "up")
		}
		r("r", "link", "set", ifRouterBr, "up")
		r("c", "addr", "add", cidr(t.clientIP), "dev", ifEndpoint, "nodad")
		r("s", "addr", "add", cidr(t.serverIP), "dev", ifEndpoint, "nodad")
		r("s2", "addr", "add", cidr(t.serverIP), "dev", ifEndpoint, "nodad")
		// server2's link stays down: the duplicate-ip scenario brings it
		// up once the client's connection to server is established.
		for _, who := range []string{"c", "s"} {
			r(who, "link", "set", ifEndpoint, "up")
		}
	}
	ns := map[string]*netns{"c": t.client, "r": t.router, "s": t.server, "s2": t.server2}
	for _, s := range steps {
		if err := ns[s[0]].ip(ctx, s[1:]...); err != nil {
			return fmt.Errorf("wiring namespaces: %w", err)
		}
	}
	for _, lk := range links {
		if err := noTxChecksumOffload(lk.endpoint, ifEndpoint); err != nil {
			return err
		}
		if err := noTxChecksumOffload(t.router, lk.peer); err != nil {
			return err
		}
	}
	return nil
}

func (t *topology) readMACs() error {
	get := func(n *netns, name string, dst *net.HardwareAddr) error {
		if n == nil {
			return nil
		}
		return n.do(func() error {
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return fmt.Errorf("reading %s address in %s: %w", name, n.name, err)
			}
			*dst = ifi.HardwareAddr
			return nil
		})
	}
	for _, g := range []struct {
		n    *netns
		name string
		dst  *net.HardwareAddr
	}{
		{t.client, ifEndpoint, &t.clientMAC}, {t.server, ifEndpoint, &t.serverMAC},
		{t.server2, ifEndpoint, &t.server2MAC}, {t.router, ifRouterC, &t.routerCMAC},
		{t.router, ifRouterS, &t.routerSMAC},
	} {
		if err := get(g.n, g.name, g.dst); err != nil {
			return err
		}
	}
	return nil
}

// namespaces lists the namespaces that exist, client first.
func (t *topology) namespaces() []*netns {
	var out []*netns
	for _, n := range []*netns{t.client, t.router, t.server, t.server2} {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// teardown deletes every namespace; the veths, bridge, nftables tables and
// sysctls inside go with them. It keeps going past errors and returns the
// first.
func (t *topology) teardown() error {
	var first error
	for _, n := range t.namespaces() {
		if err := n.delete(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
