package cause

// Info documents one cause. The `rstscope causes` listing, the docs, the
// advice in every finding and the metric labels all come from this table.
type Info struct {
	ID          ID     `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Wire is the signature of the cause in a capture.
	Wire string `json:"wire_signature"`
	// KernelReasons are the names of enum sk_rst_reason (tcp:tcp_send_reset,
	// Linux 6.10+) that confirm the cause when a live host reports them.
	KernelReasons []string `json:"kernel_reasons"`
	// Benign says resets of this cause are usually expected behaviour.
	Benign bool `json:"benign"`
	// Advice lists the concrete next steps: commands and settings to look at.
	Advice []string `json:"advice"`
}

// Vocabulary is the closed list of causes, in DESIGN.md's order.
var Vocabulary = []Info{
	{
		ID: ClosedPort, Title: "Closed port",
		Description:   "A SYN reached an address and port where nothing listens.",
		Wire:          "SYN answered by RST+ACK with seq 0 and ack = SYN.seq+1, no SYN-ACK.",
		KernelReasons: []string{"NO_SOCKET"},
		Benign:        true,
		Advice: []string{
			"check the service is running and listening on that address: ss -ltnp 'sport = :PORT'",
			"check the client's target address and port (DNS, service discovery, load-balancer backends)",
			"a reject rule on the server host sends the same reset: nft list ruleset; iptables-save | grep tcp-reset (rstscope check lists them)",
			"many closed-port resets from one source are a port scan; from a health checker, a down backend",
		},
	},
	{
		ID: SYNConflict, Title: "SYN on a live connection",
		Description:   "A SYN arrived for a 4-tuple the peer still holds (source-port reuse, client restart, NAT reuse).",
		Wire:          "SYN on a live 4-tuple, a challenge ACK with the old sequence, a RST from the SYN sender, then the SYN retried.",
		KernelReasons: []string{"TCP_INVALID_ACK_SEQUENCE", "TCP_TIMEWAIT_SOCKET"},
		Advice: []string{
			"look for NAT or load balancers reusing source ports too soon: conntrack -L, the NAT's port-allocation settings",
			"a client that restarts and reuses fixed source ports: let the kernel pick ephemeral ports",
			"on the server: nstat -az TcpExtTCPChallengeACK shows how often it answers such SYNs",
		},
	},
	{
		ID: AcceptQueueOverflow, Title: "Accept queue overflow",
		Description:   "The listener's accept queue was full and tcp_abort_on_overflow=1 made the kernel reset the new connection.",
		Wire:          "Handshake completes, then the server resets the final ACK or the first data at once, often many flows to one listener in a burst.",
		KernelReasons: []string{"INVALID_SYN"},
		Advice: []string{
			"nstat -az TcpExtListenOverflows TcpExtListenDrops: rising counters confirm it",
			"ss -ltn 'sport = :PORT': Recv-Q near Send-Q means the accept queue is full",
			"raise the listen backlog in the application and net.core.somaxconn; make the application accept faster",
			"set net.ipv4.tcp_abort_on_overflow=0 so bursts are retried instead of reset",
		},
	},
	{
		ID: HalfOpen, Title: "Half-open connection",
		Description:   "One side lost the connection (restart, crash, failover, NAT or conntrack state loss) while the other kept using it.",
		Wire:          "A mid-connection segment answered by a bare RST (no ACK flag, seq = the segment's ack, window 0, no options: the no-socket shape of tcp_v4_send_reset), often after a gap. A RST+ACK in that shape at the exact next sequence is a live socket's abort (Windows), not this; behind a window the peer had closed, it is more often a close whose FIN could not leave yet (data-after-close).",
		KernelReasons: []string{"NO_SOCKET", "TCP_FLAGS"},
		Advice: []string{
			"check whether the resetting host or process restarted: journalctl, uptime, the service's start time",
			"check failover, load-balancer or NAT state loss between the peers (conntrack -S, HA events)",
			"clients should retry on a fresh connection; enable keepalives so dead peers are found before use",
			"a reject rule loaded on that host mid-connection sends the same reset: nft list ruleset (rstscope check lists them)",
		},
	},
	{
		ID: FirewallReject, Title: "Firewall reject",
		Description: "A packet filter on a host or middlebox rejected the segment with a reset.",
		Wire:        "A reset that answers a segment and departs from its purported sender: another initial TTL or 2+ hops off its packets (1 hop is weak evidence), an IP ID off the sender's own numbering (ID 0 from a stack that numbers every datagram, an ID off its counter), a SYN answered with a non-zero sequence, the sender retransmitting after it; netfilter's shape (IP ID 0, DF, window 0, no options) is typical. Another capture nearer the sender that never saw it leave settles it.",
		Advice: []string{
			"list reject rules: nft list ruleset | grep -n 'reject with tcp reset'; iptables-save | grep tcp-reset",
			"rstscope check lists the rules that send resets on this host",
			"check middleboxes on the path (security groups, network firewalls, IPS policies)",
		},
	},
	{
		ID: TimeWaitAssassination, Title: "TIME-WAIT assassination",
		Description:   "A segment reached a connection in TIME-WAIT and was answered with, or ended it by, a reset (RFC 1337).",
		Wire:          "After a complete FIN close (both FINs acknowledged), a stray or old segment arrives within 2·MSL and the side that already closed, having no socket, answers it with a RST that ends the peer's TIME-WAIT (Linux's TIME-WAIT itself answers stray segments with ACKs).",
		KernelReasons: []string{"NO_SOCKET"},
		Benign:        true,
		Advice: []string{
			"sysctl net.ipv4.tcp_rfc1337: 1 makes TIME-WAIT ignore resets (RFC 1337)",
			"look for delayed duplicates or port reuse by the peer: ss -tan state time-wait",
		},
	},
	{
		ID: ApplicationAbort, Title: "Application abort",
		Description:   "The application aborted the connection (SO_LINGER 0, abort(), request cancelled).",
		Wire:          "An endpoint resets an established flow from its live socket at its next sequence, its window not reopened (the application had read what arrived): SO_LINGER 0, or Windows' RST+ACK with window 0. A client's reset within 1 ms of the data it read is an abort on reading it; later, the wire cannot tell it from a close with the last data unread (even odds). A silent server's reset within 10 ms of the handshake is a connection-level reject, one a second or more after it a request timeout; a reset after zero-window probes is a send timeout.",
		KernelReasons: []string{"TCP_DISCONNECT_WITH_DATA", "TCP_ABORT_ON_LINGER", "TCP_STATE"},
		Benign:        true,
		Advice: []string{
			"check the sending application's logs at that time for cancelled requests, timeouts or errors",
			"look for SO_LINGER with a zero timeout in the application or its HTTP client / proxy",
			"browsers and proxies abort idle or superseded connections by design: usually benign",
		},
	},
	{
		ID: IdleTimeout, Title: "Idle timeout",
		Description:   "The connection sat idle past a keepalive limit or a middlebox's idle timer.",
		Wire:          "A RST after keepalive probes went unanswered, or a RST (often from a middlebox) to the first segment after a long silence.",
		KernelReasons: []string{"TCP_KEEPALIVE_TIMEOUT", "NO_SOCKET"}, // NO_SOCKET: a NAT router whose mapping expired answers for itself
		Advice: []string{
			"compare the idle gap with middlebox idle timers (NAT, load balancer, firewall) and net.netfilter.nf_conntrack_tcp_timeout_established",
			"send keepalives more often than the shortest idle timer: net.ipv4.tcp_keepalive_time / _intvl / _probes or TCP_KEEPIDLE",
			"make clients discard pooled connections idle longer than the path's timer",
		},
	},
	{
		ID: UnreadDataClose, Title: "Close with unread data",
		Description:   "The application closed the socket with unread data in its receive buffer, so the kernel sent a reset instead of a FIN (RFC 2525 §2.17).",
		Wire:          "RST+ACK instead of FIN after the peer's data, its window reopened past the sender's last ACK (tcp_close freed the unread data just before resetting), or the peer's data acknowledged only by the reset; a server's reset right after a request it never answered (a keep-alive close racing the request), or right after its own error reply (HTTP 4xx/5xx, a redis -ERR: the request refused and left unread), or after answering fewer requests than the client pipelined in its last flight (HTTP, redis and text-line requests counted; a snap length can hide them).",
		KernelReasons: []string{"TCP_ABORT_ON_CLOSE"},
		Advice: []string{
			"fix the application to read the request or response fully before close(), or shutdown(SHUT_WR) and drain",
			"nstat -az TcpExtTCPAbortOnClose counts these on the closing host",
		},
	},
	{
		ID: DataAfterClose, Title: "Data after close",
		Description:   "Data arrived after the application had closed its socket, so the kernel answered with a reset.",
		Wire:          "FIN from A, then data from B, and A answers RST; also B's data crossing A's FIN (neither acknowledges the other), and a bare RST from A while B's window held A's data back (A's FIN still queued behind it).",
		KernelReasons: []string{"TCP_ABORT_ON_DATA", "TCP_TIMEWAIT_SOCKET"},
		Advice: []string{
			"the peer kept sending after this side closed: check the protocol's framing (keep-alive reuse after Connection: close, pipelining)",
			"nstat -az TcpExtTCPAbortOnData counts these on the closing host",
		},
	},
	{
		ID: Injected, Title: "Injected reset",
		Description: "A device on the path (IPS, DPI, censor) forged the reset in an endpoint's name.",
		Wire:        "A reset that departs from its purported sender (another initial TTL, 2+ hops off, an IP ID off its counter, a TCP timestamp behind its clock) and races it: the sender carries on with new data after it, a second reset follows with another sequence (a forged pair), both ends are reset at once, or an inexact in-window reset draws a challenge ACK (RFC 5961). Retransmissions after it only say it never reached the sender.",
		Advice: []string{
			"find the device: compare the reset's TTL with the endpoint's to count hops, then check IPS/DPI policies on the path",
			"capture at both ends: a reset one endpoint never sent is forged",
		},
	},
	{
		ID: DuplicateIP, Title: "Duplicate IP address",
		Description:   "Two hosts answer for one IP address, and the one that does not hold the connection resets it.",
		Wire:          "A RST from the endpoint's IP but another MAC (and often another TTL) than the rest of the flow.",
		KernelReasons: []string{"NO_SOCKET"},
		Advice: []string{
			"find the two MACs: ip neigh show; arping -D -I IFACE ADDR",
			"rstscope check looks for duplicated addresses on this host's subnets",
		},
	},
	{
		ID: InvalidSegment, Title: "Invalid segment",
		Description:   "The endpoint rejected a segment it found invalid (bad ACK, PAWS, flags) and no more specific cause fits.",
		Wire:          "A RST answering a segment outside the receiver's window or with an impossible ACK.",
		KernelReasons: []string{"TCP_INVALID_ACK_SEQUENCE", "TCP_RFC7323_PAWS", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA", "TCP_OLD_ACK", "TCP_FLAGS", "INVALID_SYN", "TCP_INVALID_SEQUENCE", "TCP_INVALID_SYN"},
		Advice: []string{
			"look for middleboxes rewriting sequence numbers or timestamps (NAT, load balancers, TCP proxies)",
			"check timestamp settings on both ends: sysctl net.ipv4.tcp_timestamps",
		},
	},
	{
		ID: ResourceExhaustion, Title: "Resource exhaustion",
		Description:   "The kernel dropped connections under memory pressure or orphan limits.",
		Wire:          "Only visible with kernel or host evidence.",
		KernelReasons: []string{"TCP_ABORT_ON_MEMORY"},
		Advice: []string{
			"nstat -az TcpExtTCPAbortOnMemory; cat /proc/net/sockstat (orphans, mem)",
			"review net.ipv4.tcp_mem and net.ipv4.tcp_max_orphans against the load",
		},
	},
	{
		ID: ListenerClosed, Title: "Listener closed with queued connections",
		Description:   "A service closed its listening socket (stop, restart, deploy) while completed connections still waited in its accept queue; the kernel reset each of them.",
		Wire:          "Handshake completed, the client's request sat unanswered (no data, no FIN from the server), then the server reset it in the live-socket shape; often several connections to one port within a millisecond, in the order their handshakes completed (the accept queue's order).",
		KernelReasons: []string{"TCP_STATE"},
		Advice: []string{
			"a deploy or restart closed the listener before draining: stop accepting (close the listener) only after the load balancer stopped sending, or hand the socket over (SO_REUSEPORT, systemd socket activation)",
			"look at the service's restarts around that time: journalctl -u UNIT, kubectl get events",
			"clients should retry idempotent requests that fail this way",
		},
	},
	{
		ID: ConnectAbandoned, Title: "Connection attempt abandoned",
		Description:   "The side that sent the SYN gave up on the attempt (a timeout, happy eyeballs picking another address, a browser racing QUIC) and its kernel reset the late SYN-ACK.",
		Wire:          "SYN, SYN-ACK (often late, or retransmitted), then a RST from the SYN sender with seq = the SYN-ACK's ack and no ACK of the handshake.",
		KernelReasons: []string{"NO_SOCKET"},
		Benign:        true,
		Advice: []string{
			"benign when a client races several addresses or protocols; the server saw one wasted handshake",
			"if the SYN-ACK came late, the client's connect timeout is shorter than the path's round trip under load: compare the SYN to SYN-ACK time with the client's timeout",
			"many of them from one client to one server: look for SYN-ACK loss or delay on the return path",
		},
	},
	{
		ID: RetransmissionTimeout, Title: "Retransmission timeout",
		Description:   "A sender retransmitted unanswered data until it gave up, then reset the connection (Windows does; Linux gives up silently and resets when the peer speaks again).",
		Wire:          "The same segment sent again and again at growing intervals with no ACK from the peer, then a RST from the sender at its next sequence.",
		KernelReasons: []string{},
		Advice: []string{
			"the peer or the path stopped answering: look for a crashed or frozen peer, a route change, or a firewall dropping the flow",
			"capture nearer the peer to see whether the retransmissions arrive and whether its answers leave",
			"Linux: net.ipv4.tcp_retries2 sets how long a sender keeps trying",
		},
	},
	{
		ID: ScanProbe, Title: "Probe or scan traffic",
		Description:   "A probe (a SYN scanner, a health check that only tests the handshake) was answered and reset by design.",
		Wire:          "A SYN answered by a SYN-ACK that the prober resets at once without completing the handshake, often from one source to many ports or hosts; or a handshake the client completes and resets within 10 ms, nothing sent either way (a connect scan, a health check).",
		KernelReasons: []string{"NO_SOCKET"},
		Benign:        true,
		Advice: []string{
			"benign when the source is your scanner or health checker; otherwise, who is scanning: the source address and the ports it probed",
			"a health checker that only opens the handshake is cheaper as a real request if you want to know the service answers",
		},
	},
	{
		ID: Unknown, Title: "Unknown",
		Description:   "The evidence does not single out a cause.",
		Wire:          "Anything the rules above do not match.",
		KernelReasons: []string{"NOT_SPECIFIED"},
		Advice: []string{
			"capture at both ends of the connection and run rstscope analyze on each",
			"on a Linux endpoint, run rstscope watch to see the kernel's own reason",
		},
	},
}

var byID = func() map[ID]*Info {
	m := make(map[ID]*Info, len(Vocabulary))
	for i := range Vocabulary {
		m[Vocabulary[i].ID] = &Vocabulary[i]
	}
	return m
}()

// Lookup returns the documentation of a cause; an unknown ID yields Unknown's.
func Lookup(id ID) Info {
	if in, ok := byID[id]; ok {
		return *in
	}
	return *byID[Unknown]
}

// Valid reports whether id is in the vocabulary.
func Valid(id ID) bool { _, ok := byID[id]; return ok }

func trimReason(r string) string {
	const prefix = "SK_RST_REASON_"
	if len(r) > len(prefix) && r[:len(prefix)] == prefix {
		return r[len(prefix):]
	}
	return r
}
