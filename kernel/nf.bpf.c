// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// Optional netfilter path: fentry on nf_send_reset / nf_send_reset6 (the
// functions behind nft/iptables "reject with tcp reset"). Loaded as its own
// collection because many kernels refuse fentry (EPERM) or lack the module;
// the loader then falls back to net:net_dev_queue in rstscope.bpf.c.

//go:build ignore

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "rstscope.h"

char __license[] SEC("license") = "Dual BSD/GPL";

volatile const __u32 filter_netns = 0; // as in rstscope.bpf.c
volatile const __u8 filter_many = 0;

// netns_allow is the main collection's map, shared by the loader.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NETNS);
	__type(key, __u32);
	__type(value, __u8);
} netns_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} nf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nf_lost SEC(".maps");

static __always_inline int emit(struct net *net, struct sk_buff *oldskb)
{
	__u32 netns = BPF_CORE_READ(net, ns.inum);
	if (filter_many ? !bpf_map_lookup_elem(&netns_allow, &netns) : filter_netns && filter_netns != netns)
		return 0;

	unsigned char *head = BPF_CORE_READ(oldskb, head);
	__u16 nh = BPF_CORE_READ(oldskb, network_header);
	__u8 vihl;
	struct tuple t = {};
	__u32 thoff;

	if (bpf_probe_read_kernel(&vihl, 1, head + nh))
		return 0;
	if ((vihl >> 4) == 4) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return 0;
		t.family = AF_INET_;
		__builtin_memcpy(t.daddr, &ip.saddr, 4);
		__builtin_memcpy(t.saddr, &ip.daddr, 4);
		thoff = nh + (vihl & 0xf) * 4;
	} else {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return 0;
		t.family = AF_INET6_;
		__builtin_memcpy(t.daddr, &ip6.saddr, 16);
		__builtin_memcpy(t.saddr, &ip6.daddr, 16);
		thoff = nh + sizeof(struct ipv6hdr);
	}
	__be16 ports[2];
	if (bpf_probe_read_kernel(ports, sizeof(ports), head + thoff))
		return 0;
	t.sport = bpf_ntohs(ports[1]);
	t.dport = bpf_ntohs(ports[0]);
	t.netns = netns;

	struct event *e = bpf_ringbuf_reserve(&nf_events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&nf_lost, &zero);
		if (n)
			(*n)++;
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->kind = KIND_NETFILTER;
	e->context = CTX_KERNEL;
	e->t = t;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fentry/nf_send_reset")
int BPF_PROG(nf_send_reset, struct net *net, struct sock *sk, struct sk_buff *oldskb, int hook)
{
	return emit(net, oldskb);
}

SEC("fentry/nf_send_reset6")
int BPF_PROG(nf_send_reset6, struct net *net, struct sock *sk, struct sk_buff *oldskb, int hook)
{
	return emit(net, oldskb);
}
