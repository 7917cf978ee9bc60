// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Types shared by rstscope's eBPF programs; Go mirrors them via bpf2go.
#ifndef RSTSCOPE_H
#define RSTSCOPE_H

#define AF_INET_ 2
#define AF_INET6_ 10
#define TCP_FLAG_RST_ 0x04
#define MAX_NETNS 64 // watch --netns: how many namespaces one watcher filters to

enum event_kind {
	KIND_SENT = 1,     // tcp:tcp_send_reset
	KIND_RECEIVED = 2, // tcp:tcp_receive_reset
	KIND_WIRE = 3,     // a RST left a device and the stack did not announce it
	KIND_NETFILTER = 4 // fentry nf_send_reset{,6}
};

enum event_context {
	CTX_UNKNOWN = 0,
	CTX_PROCESS = 1,
	CTX_KERNEL = 2
};

// tuple is the RST's own addresses: saddr sends it. Ports in host order.
struct tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
};

struct event {
	__u64 ts_ns;  // bpf_ktime_get_boot_ns
	__u64 cookie; // socket cookie, 0 when unknown
	__u64 cgroup_id;
	struct tuple t;
	__u32 pid;
	__u32 tid;
	__u32 reason; // enum sk_rst_reason, sent only
	__u8 kind;
	__u8 state;
	__u8 context;
	__u8 in_flags; // TCP flags of the segment the RST answers, 0 when none
	char comm[16];
	__u8 substate; // tw_substate when state is TCP_TIME_WAIT (FIN_WAIT2 or TIME_WAIT)
	__u8 from_sock; // KIND_WIRE: the skb belonged to a socket (raw, packet), not built by netfilter
	// KIND_SENT with NO_SOCKET: 1 + the milliseconds since this host's
	// socket on the tuple ended cleanly as the second to close (closed_clean);
	// 0 when it did not within 65 s or is not remembered.
	__u16 closed_ms;
	// KIND_WIRE: the conntrack entry nf_send_reset attached to its RST from
	// the segment it answered (nf_ct_attach): CT_NONE, CT_NEW (not yet
	// confirmed: that segment was the first conntrack saw of the flow) or
	// CT_KNOWN (confirmed: conntrack knew the flow).
	__u8 ct;
	__u8 rst_flags; // KIND_WIRE: the RST's own TCP flags
};

enum ct_seen {
	CT_NONE = 0,
	CT_NEW = 1,
	CT_KNOWN = 2
};

#endif
