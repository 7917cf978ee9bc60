// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// rstscope's kernel side: one event per TCP reset, with the kernel's own
// reason (enum sk_rst_reason, Linux 6.10+), the socket state, the network
// namespace and, when the reset was sent from process context, the task.
//
// Sources, all of them tracepoints because fentry/fexit are refused on some
// kernels (EPERM under lockdown):
//   tcp:tcp_send_reset     the TCP stack sent a RST (tcp_v{4,6}_send_reset,
//                          tcp_send_active_reset)
//   tcp:tcp_receive_reset  a socket accepted a RST (tcp_reset)
//   net:net_dev_queue      a RST left a device; if the stack did not announce
//                          it just before, it came from elsewhere (netfilter's
//                          nf_send_reset, a raw socket, an AF_PACKET writer)
//   irq:softirq_entry/exit per-CPU "in softirq" flag, so a RST sent from the
//                          receive path or a timer is not blamed on whichever
//                          task happened to be running; only on kernels where
//                          the CPU's preempt count cannot be read (see
//                          serving_softirq), since they run on every softirq
//                          of the host, resets or not
// fentry/nf_send_reset{,6} is tried first for the netfilter path when the
// kernel allows it; see nf.bpf.c.
//
// Build: kernel/gen.go (bpf2go). vmlinux.h is bpftool's dump of Linux 6.18
// BTF, committed; CO-RE relocations make the object portable.

//go:build ignore

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "rstscope.h"

char __license[] SEC("license") = "Dual BSD/GPL";

// Set by the loader before load.
// One namespace is a compare; several are a hash lookup in netns_allow.
volatile const __u32 filter_netns = 0; // the one namespace to watch; 0: see filter_many
volatile const __u8 filter_many = 0;   // 1: the namespaces in netns_allow
volatile const __u8 wire_check = 0;    // 1: net_dev_queue looks for foreign RSTs
// Below this many bytes waiting, submit without waking the reader, which
// polls on a short deadline anyway. Waking per event costs an irq_work
// self-IPI per reset: measured 3.3 us per tcp_send_reset run on this VM
// with per-event wake-ups.
// A power of two.
volatile const __u32 wakeup_bytes = 64 * 1024;
// The distance in the per-CPU area from this CPU's struct rq (runqueues) to
// its preempt count (__preempt_count, or pcpu_hot.preempt_count on 6.2-6.14),
// from the offsets of both in the kernel BTF's .data..percpu; set by the
// loader, 0 when the kernel's BTF lacks them (not x86, no BTF for per-CPU
// variables), and then the softirq tracepoints keep in_softirq instead.
volatile const __s64 preempt_from_rq = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); // resized by the loader
} events SEC(".maps");

// netns_allow holds the network namespace inodes to watch when
// filter_many is set (watch --netns A --netns B).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NETNS);
	__type(key, __u32);
	__type(value, __u8);
} netns_allow SEC(".maps");

// lost[0] counts events dropped because the ring buffer was full; never silent.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

// in_softirq[0] is non-zero while this CPU runs a softirq handler.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} in_softirq SEC(".maps");

// last_rst holds, per CPU, the last RST the TCP stack announced.
// tcp_v{4,6}_send_reset fire tcp_send_reset just before transmitting on the
// same CPU, so net_dev_queue finds its RST here and drops it; every other
// order (tcp_send_active_reset announces after transmitting, a neighbour
// queue delays the RST) reaches user space, whose Correlator matches it.
// A per-CPU slot instead of an LRU hash keyed by tuple: tcp_send_reset went
// from 1.8 us to 0.8 us per run on the 2-vCPU test VM (docs/watch.md).
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tuple);
} last_rst SEC(".maps");

// closed_clean remembers, per connection, when this host's socket ended
// cleanly as the second to close: LAST_ACK -> CLOSE with everything it sent,
// its FIN included, acknowledged. Its peer closed first and holds the
// connection in TIME-WAIT (60 s on Linux), so a NO_SOCKET reset this host
// sends on the same four-tuple soon after answers that TIME-WAIT side's
// stray or duplicate segment and, landing, ends its TIME-WAIT early (RFC
// 1337) -- which a host that lost the connection (half-open) looks like
// to the reason alone.
//
// A direct-mapped cache, not an LRU hash: slot = hash of the tuple (as the
// host's own RST would carry it, saddr local), and a newer close takes the
// slot of an older one. An LRU hash update cost 0.87 us per clean close
// (bpf_stats over 20 000 loopback connections, two interleaved rounds);
// this is one array lookup the verifier inlines and a 52-byte store. With
// CLOSED_SLOTS slots a close is kept until about CLOSED_SLOTS other clean
// closes hash over it: 8 s at 1 000 a second. Two CPUs storing into one
// slot at once can leave it torn; the tuple compare then misses, and the
// reset reads as the reason alone says.
#define CLOSED_SLOTS 8192
struct closed_slot {
	struct tuple t;
	__u64 at; // bpf_ktime_get_boot_ns at the close
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CLOSED_SLOTS);
	__type(key, __u32);
	__type(value, struct closed_slot);
} closed_clean SEC(".maps");

// tuple_slot hashes the tuple's eleven words (multiplicative hashing) to a
// slot of closed_clean.
static __always_inline __u32 tuple_slot(const struct tuple *t)
{
	const __u32 *w = (const __u32 *)t;
	__u32 h = 0;
#pragma unroll
	for (int i = 0; i < sizeof(struct tuple) / 4; i++)
		h = (h ^ w[i]) * 0x9e3779b1;
	return h >> (32 - 13); // log2(CLOSED_SLOTS)
}

// Force struct event into BTF so bpf2go emits its Go twin (-type event).
const struct event *unused_event __attribute__((unused));

#define PF_KTHREAD 0x00200000

// bpf_rdonly_cast (kfunc, Linux 6.2+, below the 6.10 the loader requires;
// the verifier turns the call into a move) makes a tracepoint's untyped
// pointer a read-only BTF pointer, so its fields are read with faulting
// loads instead of one bpf_probe_read_kernel helper call each: net_dev_queue
// 0.29-0.32 -> 0.16 us a run, tcp_send_reset 0.73-0.80 -> 0.53-0.57
// (go run ./kernel/flood -n 200000 -rates 0 -senders 2 -ring-mib 64 -progs,
// two interleaved rounds, load 7-8).
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define kcast(ptr, type) ((type *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))
// include/linux/preempt.h: SOFTIRQ_OFFSET = 1 << SOFTIRQ_SHIFT (8), set in the
// preempt count while a softirq is served (in_serving_softirq); bh-disabled
// process context adds SOFTIRQ_DISABLE_OFFSET (2 << 8) and is not a softirq.
#define SOFTIRQ_OFFSET 0x100

static __always_inline __u32 net_inum(struct net *net)
{
	if (!net)
		return 0;
	return net->ns.inum;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return net_inum(sk->__sk_common.skc_net.net);
}

static __always_inline __u32 skb_netns(const struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	if (!dev)
		return 0;
	return net_inum(dev->nd_net.net);
}

// v4mapped folds ::ffff:a.b.c.d into AF_INET so a v6 socket talking IPv4
// keys the same as the packet on the wire.
static __always_inline void v4mapped(struct tuple *t)
{
	if (t->family != AF_INET6_)
		return;
	__u32 *s = (__u32 *)t->saddr, *d = (__u32 *)t->daddr;
	if (s[0] || s[1] || s[2] != bpf_htonl(0xffff) || d[0] || d[1] || d[2] != bpf_htonl(0xffff))
		return;
	s[0] = s[3];
	d[0] = d[3];
	s[1] = s[2] = s[3] = 0;
	d[1] = d[2] = d[3] = 0;
	t->family = AF_INET_;
}

// tcp_head is the start of a TCP header: ports, sequence numbers, data
// offset and flags.
struct tcp_head {
	__be16 source, dest;
	__be32 seq, ack;
	__u8 off, flags;
};

// skb_tuple reads the IP and TCP headers at skb->head + network_header. With
// reverse set it swaps the ends: the RST answers that segment. It returns the
// TCP flags byte, or -1 when the packet is not TCP over IPv4/IPv6.
//
// One read of HDR_READ bytes covers an IPv4 header without options or an
// IPv6 header, each with the TCP header's first bytes: net_dev_queue runs
// this on every packet a device queues, and one bpf_probe_read_kernel
// instead of three (version, IP header, TCP header), with skb_iif read only
// for RSTs, took it from 0.39-0.41 to 0.31-0.32 us a run and tcp_send_reset
// from 0.96-0.98 to 0.82-0.85 (go run ./kernel/flood -n 200000 -rates 0
// -senders 2 -progs, interleaved, load 6-10). The bytes past a short
// packet are the skb's own buffer (headroom and skb_shared_info follow the
// data), read but never used.
#define HDR_READ (sizeof(struct ipv6hdr) + sizeof(struct tcp_head))
static __always_inline int skb_tuple(const struct sk_buff *skb, struct tuple *t, int reverse)
{
	unsigned char *head = skb->head;
	__u16 nh = skb->network_header;
	union {
		struct iphdr ip;
		struct ipv6hdr ip6;
		__u8 b[HDR_READ];
	} h;
	struct tcp_head th;

	if (!head || nh == (__u16)~0U)
		return -1;
	if (bpf_probe_read_kernel(&h, sizeof(h), head + nh))
		return -1;
	if (h.ip.version == 4) {
		if (h.ip.protocol != IPPROTO_TCP)
			return -1;
		t->family = AF_INET_;
		__builtin_memcpy(reverse ? t->daddr : t->saddr, &h.ip.saddr, 4);
		__builtin_memcpy(reverse ? t->saddr : t->daddr, &h.ip.daddr, 4);
		if (h.ip.ihl == 5)
			__builtin_memcpy(&th, h.b + sizeof(struct iphdr), sizeof(th));
		else if (bpf_probe_read_kernel(&th, sizeof(th), head + nh + h.ip.ihl * 4))
			return -1;
	} else if (h.ip.version == 6) {
		if (h.ip6.nexthdr != IPPROTO_TCP)
			return -1; // extension headers: not followed, RSTs carry none
		t->family = AF_INET6_;
		__builtin_memcpy(reverse ? t->daddr : t->saddr, &h.ip6.saddr, 16);
		__builtin_memcpy(reverse ? t->saddr : t->daddr, &h.ip6.daddr, 16);
		__builtin_memcpy(&th, h.b + sizeof(struct ipv6hdr), sizeof(th));
	} else {
		return -1;
	}
	t->sport = bpf_ntohs(reverse ? th.dest : th.source);
	t->dport = bpf_ntohs(reverse ? th.source : th.dest);
	return th.flags;
}

// sockaddr_tuple reads the tracepoint's sockaddr_in/sockaddr_in6 copies.
static __always_inline void sockaddr_tuple(const __u8 *sa, const __u8 *da, struct tuple *t)
{
	__u16 family = *(__u16 *)sa;
	t->sport = bpf_ntohs(*(__be16 *)(sa + 2));
	t->dport = bpf_ntohs(*(__be16 *)(da + 2));
	if (family == AF_INET_) {
		t->family = AF_INET_;
		__builtin_memcpy(t->saddr, sa + 4, 4);
		__builtin_memcpy(t->daddr, da + 4, 4);
	} else if (family == AF_INET6_) {
		t->family = AF_INET6_;
		__builtin_memcpy(t->saddr, sa + 8, 16);
		__builtin_memcpy(t->daddr, da + 8, 16);
	}
}

static __always_inline int same_tuple(const struct tuple *a, const struct tuple *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
#pragma unroll
	for (int i = 0; i < sizeof(struct tuple) / 4; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static __always_inline int wanted(__u32 netns)
{
	if (filter_many)
		return bpf_map_lookup_elem(&netns_allow, &netns) != NULL;
	return filter_netns == 0 || filter_netns == netns;
}

// serving_softirq says whether this CPU is running a softirq handler: 1 yes,
// 0 no, -1 cannot tell.
//
// It reads the CPU's preempt count, found from the running task's runqueue:
// current->se.cfs_rq->rq is this CPU's struct rq, a per-CPU variable, so the
// preempt count is preempt_from_rq bytes from it. Not bpf_this_cpu_ptr on a
// __ksym: the verifier resolves a typed ksym through kallsyms, which holds no
// data symbols without CONFIG_KALLSYMS_ALL (this 6.18 VM: "ldimm64 failed to
// find the address for kernel symbol '__preempt_count'"), and cilium/ebpf
// links ksyms as untyped addresses only. rq->cpu guards the anchor.
// Reading it here replaced tracepoints on every softirq of the host; the
// cost per reset is in docs/watch.md.
static __always_inline int serving_softirq(struct task_struct *task)
{
	if (!preempt_from_rq) {
		__u32 zero = 0;
		__u32 *soft = bpf_map_lookup_elem(&in_softirq, &zero);
		return soft && *soft;
	}
	if (!bpf_core_field_exists(((struct cfs_rq *)0)->rq))
		return -1;
	// Direct loads through the task's BTF pointer, not bpf_probe_read_kernel
	// helper calls: the verifier makes them faulting loads.
	struct cfs_rq *cfs = task->se.cfs_rq;
	struct rq *rq = cfs ? cfs->rq : NULL;
	if (!rq || rq->cpu != bpf_get_smp_processor_id())
		return -1;
	int pc;
	if (bpf_probe_read_kernel(&pc, sizeof(pc), (void *)rq + preempt_from_rq))
		return -1;
	return (pc & SOFTIRQ_OFFSET) != 0;
}

// fill_task records the task only when the reset is sent from process
// context: not inside a softirq (receive path, timers) and not a kernel
// thread. Otherwise current is whoever was interrupted and says nothing.
static __always_inline void fill_task(struct event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	int soft = serving_softirq(task);

	if (soft < 0)
		return; // CTX_UNKNOWN
	if (soft || (task->flags & PF_KTHREAD)) {
		e->context = CTX_KERNEL;
		return;
	}
	__u64 pt = bpf_get_current_pid_tgid();
	e->pid = pt >> 32;
	e->tid = (__u32)pt;
	if (e->pid == 0) {
		e->context = CTX_KERNEL;
		return;
	}
	e->context = CTX_PROCESS;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline struct event *reserve(void)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			(*n)++;
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_boot_ns();
	return e;
}

// submit commits e and wakes the reader only when this record carries the
// backlog across a multiple of wakeup_bytes: about once per wakeup_bytes of
// events, not on every event once the reader lags. Forcing a wake-up per
// event above the threshold (as before) cost an irq_work self-IPI per reset
// exactly when the reader was behind: tcp_send_reset ran 9.1-9.5 us per
// reset in an unpaced flood against 1.0 us at 5 k resets/s
// (go run ./kernel/flood -progs, docs/watch.md). Two CPUs crossing at once
// may both miss the crossing; the reader's poll deadline bounds that delay.
static __always_inline void submit(struct event *e)
{
	const __u64 rec = ((sizeof(*e) + 7) & ~7ULL) + 8; // BPF_RINGBUF_HDR_SZ
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 mask = ~((__u64)wakeup_bytes - 1);
	int cross = avail >= rec && ((avail ^ (avail - rec)) & mask) && avail >= wakeup_bytes;

	bpf_ringbuf_submit(e, cross ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

SEC("tracepoint/tcp/tcp_send_reset")
int tcp_send_reset(struct trace_event_raw_tcp_send_reset *ctx)
{
	const struct sock *sk = kcast(ctx->skaddr, struct sock);
	const struct sk_buff *skb = kcast(ctx->skbaddr, struct sk_buff);
	struct tuple t = {};
	__u32 netns;
	int in_flags = -1;

	// With an incoming segment, the RST's own addresses are that segment's,
	// reversed; the tracepoint would report a listener's wildcard address.
	if (skb)
		in_flags = skb_tuple(skb, &t, 1);
	if (in_flags < 0) {
		__u8 sa[28], da[28];
		bpf_probe_read_kernel(sa, sizeof(sa), ctx->saddr);
		bpf_probe_read_kernel(da, sizeof(da), ctx->daddr);
		sockaddr_tuple(sa, da, &t);
	}
	v4mapped(&t);
	netns = sk ? sk_netns(sk) : 0;
	if (!netns && skb)
		netns = skb_netns(skb);
	if (!wanted(netns))
		return 0;
	t.netns = netns;

	if (wire_check) {
		__u32 zero = 0;
		struct tuple *last = bpf_map_lookup_elem(&last_rst, &zero);
		if (last)
			*last = t;
	}

	struct event *e = reserve();
	if (!e)
		return 0;
	e->kind = KIND_SENT;
	e->t = t;
	e->state = ctx->state;
	// A time-wait socket is either a real TIME-WAIT or an orphan that
	// closed in FIN-WAIT-2 (tcp_close -> tcp_time_wait(sk, TCP_FIN_WAIT2));
	// the two mean different causes.
	if (sk && ctx->state == TCP_TIME_WAIT)
		e->substate = kcast(sk, struct inet_timewait_sock)->tw_substate;
	e->reason = ctx->reason;
	e->in_flags = in_flags < 0 ? 0 : in_flags;
	// A SYN answered is a closed port whatever closed before, so a SYN
	// flood to a closed port pays no lookup: it cost 150-300 ns a reset
	// (tcp_send_reset 620-630 -> 770-930 ns, go run ./kernel/flood -n
	// 100000 -rates 20000 -senders 2 -progs, two interleaved rounds).
	if (!sk && ctx->reason == SK_RST_REASON_NO_SOCKET && in_flags >= 0 && !(in_flags & 0x02)) {
		__u32 slot = tuple_slot(&t);
		struct closed_slot *c = bpf_map_lookup_elem(&closed_clean, &slot);
		if (c && c->at && same_tuple(&c->t, &t)) {
			__u64 ms = (e->ts_ns - c->at) / 1000000;
			if (ms < 0xfffe)
				e->closed_ms = ms + 1;
		}
	}
	fill_task(e);
	submit(e);
	return 0;
}

// inet_sock_set_state runs on every state change of every socket, so it
// returns at its first compare for all but a TCP socket leaving LAST_ACK
// for CLOSE (see closed_clean). A BTF tracepoint, not a classic one: the
// classic one formats its whole record (addresses, ports) before the
// program runs, for every state change of the host.
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	if (newstate != TCP_CLOSE || oldstate != TCP_LAST_ACK || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	const struct tcp_sock *tp = kcast(sk, struct tcp_sock);
	// LAST_ACK also ends when the FIN is never acknowledged (retransmission
	// timeout) or a reset arrives; only an acknowledged FIN leaves the peer
	// in TIME-WAIT.
	if (tp->snd_una != tp->write_seq)
		return 0;
	__u32 netns = sk_netns(sk);
	if (!wanted(netns))
		return 0;
	const struct sock_common *c = &sk->__sk_common;
	struct tuple t = {};
	t.netns = netns;
	// Not skc_num: tcp_set_state has released the port (inet_put_port sets
	// inet_num to 0) before it announces CLOSE; inet_sport stays.
	t.sport = bpf_ntohs(kcast(sk, struct inet_sock)->inet_sport);
	t.dport = bpf_ntohs(c->skc_dport);
	t.family = c->skc_family;
	if (t.family == AF_INET_) {
		__builtin_memcpy(t.saddr, &c->skc_rcv_saddr, 4);
		__builtin_memcpy(t.daddr, &c->skc_daddr, 4);
	} else if (t.family == AF_INET6_) {
		__builtin_memcpy(t.saddr, &c->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(t.daddr, &c->skc_v6_daddr, 16);
	} else {
		return 0;
	}
	v4mapped(&t);
	__u32 slot = tuple_slot(&t);
	struct closed_slot *slotp = bpf_map_lookup_elem(&closed_clean, &slot);
	if (slotp) {
		slotp->t = t;
		slotp->at = bpf_ktime_get_boot_ns();
	}
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tcp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	const struct sock *sk = kcast(ctx->skaddr, struct sock);
	__u32 netns = sk ? sk_netns(sk) : 0;
	struct tuple t = {};

	if (!wanted(netns))
		return 0;
	t.netns = netns;
	t.sport = ctx->sport;
	t.dport = ctx->dport;
	t.family = ctx->family;
	if (t.family == AF_INET_) {
		bpf_probe_read_kernel(t.saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(t.daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(t.saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(t.daddr, 16, ctx->daddr_v6);
	}
	v4mapped(&t);

	struct event *e = reserve();
	if (!e)
		return 0;
	e->kind = KIND_RECEIVED;
	e->t = t;
	e->state = sk->__sk_common.skc_state;
	e->cookie = ctx->sock_cookie;
	fill_task(e);
	submit(e);
	return 0;
}

// net_dev_queue runs for every packet a device queues, so it returns early
// for anything that is not a TCP RST.
SEC("tracepoint/net/net_dev_queue")
int net_dev_queue(struct trace_event_raw_net_dev_template *ctx)
{
	const struct sk_buff *skb = kcast(ctx->skbaddr, struct sk_buff);
	struct tuple t = {};
	int flags;

	if (!wire_check)
		return 0;
	flags = skb_tuple(skb, &t, 0);
	if (flags < 0 || !(flags & TCP_FLAG_RST_))
		return 0;
	// A received skb carries its ingress ifindex (__netif_receive_skb_core
	// sets skb_iif); one this host built has none: tcp_v{4,6}_send_reset and
	// nf_send_reset{,6} allocate a fresh skb. So an RST with skb_iif set was
	// routed or bridged through here (a veth router, cni0, docker0), made
	// elsewhere and announced there. Measured in router and bridge
	// namespaces: forwarded_linux_test.go. Checked after the flags, so the
	// packets that are no RST cost one read less.
	if (skb->skb_iif)
		return 0;
	t.netns = skb_netns(skb);
	if (!wanted(t.netns))
		return 0;
	v4mapped(&t);
	// The stack announced this RST just before transmitting it
	// (tcp_v{4,6}_send_reset): not ours to report.
	__u32 zero = 0;
	struct tuple *last = bpf_map_lookup_elem(&last_rst, &zero);
	if (last && same_tuple(last, &t)) {
		last->family = 0;
		return 0;
	}
	// tcp_send_active_reset announces after transmitting, so user space
	// holds this event for a moment before calling it foreign.
	struct event *e = reserve();
	if (!e)
		return 0;
	e->kind = KIND_WIRE;
	e->t = t;
	e->context = CTX_KERNEL;
	// nf_send_reset{,6} allocate their RST with no owner; a raw or packet
	// socket's skb is charged to that socket (sock_alloc_send_skb). The
	// TCP stack's own, also owned, were dropped above or are claimed in
	// user space. Measured in forwarded_linux_test.go.
	e->from_sock = skb->sk != NULL;
	e->rst_flags = flags;
	// nf_send_reset hands the answered segment's conntrack entry to its RST
	// (nf_ct_attach), so whether conntrack knew that flow shows here: an
	// entry not yet confirmed was made for that very segment -- for one
	// carrying ACK (the RST then has none), an established connection
	// conntrack had forgotten (idle timeout, flush); a confirmed one, a flow
	// it tracks. No entry: conntrack is not running in this namespace, or
	// found the segment invalid. Read only for unclaimed RSTs.
	if (bpf_core_field_exists(skb->_nfct)) {
		unsigned long nfct = skb->_nfct & ~7UL; // the low bits are ctinfo
		if (nfct) {
			const struct nf_conn *ct = kcast((void *)nfct, struct nf_conn);
			e->ct = (ct->status & (1UL << IPS_CONFIRMED_BIT)) ? CT_KNOWN : CT_NEW;
		}
	}
	e->cookie = 0;
	submit(e);
	return 0;
}

SEC("tracepoint/irq/softirq_entry")
int softirq_entry(void *ctx)
{
	__u32 zero = 0;
	__u32 *v = bpf_map_lookup_elem(&in_softirq, &zero);
	if (v)
		*v = 1;
	return 0;
}

SEC("tracepoint/irq/softirq_exit")
int softirq_exit(void *ctx)
{
	__u32 zero = 0;
	__u32 *v = bpf_map_lookup_elem(&in_softirq, &zero);
	if (v)
		*v = 0;
	return 0;
}
