package lab

import (
	"net/netip"
	"strings"
)

// KernelEvent is one tcp:tcp_send_reset or tcp:tcp_receive_reset event the
// kernel logged during a run.
type KernelEvent struct {
	Event  string `json:"event"` // "tcp_send_reset" or "tcp_receive_reset"
	Src    string `json:"src"`   // ip:port as the tracepoint prints it
	Dst    string `json:"dst"`
	State  string `json:"state,omitempty"`  // tcp_send_reset only, e.g. TCP_LISTEN
	Reason string `json:"reason,omitempty"` // tcp_send_reset only, sk_rst_reason name
}

// parseTraceLine reads one line of a tracefs trace file, such as
//
//	<idle>-0 [001] ..s2. 12.3: tcp_send_reset: skbaddr=… skaddr=… src=10.99.2.2:8099 dest=10.99.1.2:40000 state=TCP_CLOSE reason=NO_SOCKET
//	<idle>-0 [001] ..s2. 12.3: tcp_receive_reset: family=AF_INET sport=40000 dport=8099 saddr=10.99.1.2 daddr=10.99.2.2 saddrv6=… daddrv6=… sock_cookie=…
func parseTraceLine(line string) (KernelEvent, bool) {
	var ev KernelEvent
	var rest string
	for _, name := range []string{"tcp_send_reset", "tcp_receive_reset"} {
		if i := strings.Index(line, " "+name+": "); i >= 0 {
			ev.Event, rest = name, line[i+len(name)+3:]
			break
		}
	}
	if ev.Event == "" {
		return ev, false
	}
	kv := map[string]string{}
	for _, f := range strings.Fields(rest) {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	if ev.Event == "tcp_send_reset" {
		ev.Src, ev.Dst, ev.State, ev.Reason = kv["src"], kv["dest"], kv["state"], kv["reason"]
		return ev, true
	}
	sa, da := kv["saddr"], kv["daddr"]
	if kv["family"] == "AF_INET6" {
		sa, da = kv["saddrv6"], kv["daddrv6"]
	}
	ev.Src, ev.Dst = joinHostPort(sa, kv["sport"]), joinHostPort(da, kv["dport"])
	return ev, true
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// involves says whether the event belongs to a run: one end is the run's
// server port, and an address is one of the run's or, for a reset sent on
// behalf of a listener, the wildcard (the kernel reports the listener's
// own address then).
func (ev KernelEvent) involves(lab []netip.Addr, port uint16) bool {
	portSeen, addrSeen := false, false
	for _, s := range []string{ev.Src, ev.Dst} {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			continue
		}
		a := ap.Addr().Unmap()
		if ap.Port() == port {
			portSeen = true
			if a.IsUnspecified() {
				addrSeen = true
			}
		}
		for _, l := range lab {
			if a == l {
				addrSeen = true
			}
		}
	}
	return portSeen && addrSeen
}
