//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package kernel

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Options configure a Watcher.
type Options struct {
	// NetNS keeps only events from the network namespaces with these
	// inodes (as in /proc/PID/ns/net), at most MaxNetNS; empty keeps all.
	// Filtering happens in the kernel.
	NetNS []uint32
	// RingBytes is the ring buffer size, a power of two multiple of the page
	// size; 0 means 8 MiB (about 80,000 events).
	RingBytes int
	// NoForeign turns off the search for RSTs the TCP stack did not send
	// (netfilter rejects), which costs a check on every transmitted packet.
	NoForeign bool

	// softirqHooks forces the softirq tracepoints even where the preempt
	// count can be read, so tests cover both ways of telling the context.
	softirqHooks bool
}

// Watcher is attached eBPF programs plus the ring buffer they write to.
type Watcher struct {
	events, lost, netns *ebpf.Map
	main                rstscopeObjects
	nf                  *nfObjects
	links               []link.Link
	reader              *ringbuf.Reader
	rec                 ringbuf.Record
	clock               Clock // wall time of Event.Boot; Read re-syncs it every SyncEvery
	foreign             string
	notes               []string
	deadline            time.Time
	softirqHooks        bool // irq:softirq_entry/exit attached: no preempt count to read
}

// pollInterval bounds how long events wait in the ring buffer: the eBPF
// side wakes the reader only once wakeup_bytes are waiting.
const pollInterval = 50 * time.Millisecond

// Open loads and attaches the programs. Errors wrap ErrPermission or
// ErrUnsupported when the host can't, so callers can say what is needed.
func Open(opts Options) (*Watcher, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising memlock limit: %w", permission(err))
	}
	kspec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("%w: reading kernel BTF: %v", ErrUnsupported, err)
	}
	var tp *btf.Struct
	if err := kspec.TypeByName("trace_event_raw_tcp_send_reset", &tp); err != nil {
		return nil, ErrNoReasons
	}
	spec, err := loadRstscope()
	if err != nil {
		return nil, fmt.Errorf("loading eBPF spec: %w", err)
	}
	ring := opts.RingBytes
	if ring == 0 {
		ring = 8 << 20
	}
	spec.Maps[rstscopeMapEvents].MaxEntries = uint32(ring)

	w := &Watcher{}
	w.events, err = ebpf.NewMap(spec.Maps[rstscopeMapEvents])
	if err != nil {
		return nil, fmt.Errorf("creating ring buffer: %w", permission(err))
	}
	w.lost, err = ebpf.NewMap(spec.Maps[rstscopeMapLost])
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("creating lost-event counter: %w", permission(err))
	}
	if len(opts.NetNS) > MaxNetNS {
		w.Close()
		return nil, fmt.Errorf("watching %d network namespaces: at most %d", len(opts.NetNS), MaxNetNS)
	}
	w.netns, err = ebpf.NewMap(spec.Maps[rstscopeMapNetnsAllow])
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("creating netns filter: %w", permission(err))
	}
	for _, ino := range opts.NetNS {
		if err := w.netns.Put(ino, uint8(1)); err != nil {
			w.Close()
			return nil, fmt.Errorf("setting netns filter: %w", err)
		}
	}
	shared := map[string]*ebpf.Map{rstscopeMapEvents: w.events, rstscopeMapLost: w.lost, rstscopeMapNetnsAllow: w.netns}

	if !opts.NoForeign {
		if err := w.openNetfilter(opts, ring); err != nil {
			w.notes = append(w.notes, "netfilter resets: fentry on nf_send_reset "+fentryTrouble(err)+"; watching RSTs leave devices (net:net_dev_queue) instead")
		} else {
			w.foreign = "fentry"
		}
	}
	wire := !opts.NoForeign && w.foreign == ""
	if err := setNetNSFilter(spec.Variables, opts.NetNS); err != nil {
		w.Close()
		return nil, err
	}
	if err := spec.Variables["wire_check"].Set(boolByte(wire)); err != nil {
		w.Close()
		return nil, fmt.Errorf("setting wire check: %w", err)
	}
	preempt := preemptFromRQ(kspec)
	if opts.softirqHooks || realtime() {
		preempt = 0
	}
	if err := spec.Variables["preempt_from_rq"].Set(preempt); err != nil {
		w.Close()
		return nil, fmt.Errorf("setting preempt count offset: %w", err)
	}
	if err := spec.LoadAndAssign(&w.main, &ebpf.CollectionOptions{MapReplacements: shared}); err != nil {
		w.Close()
		return nil, fmt.Errorf("loading eBPF programs: %w", permission(err))
	}
	type hook struct {
		group, name string
		prog        *ebpf.Program
	}
	var attach []hook
	if preempt == 0 {
		// softirq first, so the context flag is right from the first reset.
		attach = append(attach, hook{"irq", "softirq_entry", w.main.SoftirqEntry}, hook{"irq", "softirq_exit", w.main.SoftirqExit})
		w.softirqHooks = true
	}
	attach = append(attach, hook{"tcp", "tcp_send_reset", w.main.TcpSendReset}, hook{"tcp", "tcp_receive_reset", w.main.TcpReceiveReset})
	if wire {
		attach = append(attach, hook{"net", "net_dev_queue", w.main.NetDevQueue})
		w.foreign = "net_dev_queue"
	}
	// sock:inet_sock_set_state (BTF tracepoint) before the reset hooks, so
	// a clean close is remembered from the first one (closed_clean in
	// rstscope.bpf.c). Without it watch still runs; a reset answering a
	// TIME-WAIT peer then reads as the reason alone says (half-open).
	if l, err := link.AttachTracing(link.TracingOptions{Program: w.main.InetSockSetState}); err != nil {
		w.notes = append(w.notes, fmt.Sprintf("clean closes: attaching tp_btf/inet_sock_set_state failed (%v); a reset meeting a peer's TIME-WAIT reads as half-open", err))
	} else {
		w.links = append(w.links, l)
	}
	for _, a := range attach {
		l, err := link.Tracepoint(a.group, a.name, a.prog, nil)
		if err != nil {
			w.Close()
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: tracepoint %s:%s not found (is tracefs mounted at /sys/kernel/tracing?)", ErrUnsupported, a.group, a.name)
			}
			return nil, fmt.Errorf("attaching %s:%s: %w", a.group, a.name, permission(err))
		}
		w.links = append(w.links, l)
	}
	w.reader, err = ringbuf.NewReader(w.events)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening ring buffer: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		w.Close()
		return nil, fmt.Errorf("reading boot clock: %w", err)
	}
	w.clock.Sync(time.Now(), uint64(ts.Nano()))
	return w, nil
}

// preemptFromRQ returns how far this CPU's preempt count lies from its
// struct rq in the per-CPU area: both are per-CPU variables (runqueues,
// and __preempt_count since 6.15 or pcpu_hot.preempt_count on x86 from 6.2),
// at the offsets the kernel's BTF gives them in .data..percpu. 0 means this
// kernel has no such pair (other architectures keep the count elsewhere;
// BTF without per-CPU variables), and the softirq tracepoints stand in.
func preemptFromRQ(kspec *btf.Spec) int64 {
	var ds *btf.Datasec
	if err := kspec.TypeByName(".data..percpu", &ds); err != nil {
		return 0
	}
	rq, pc := int64(-1), int64(-1)
	for _, v := range ds.Vars {
		vr, ok := v.Type.(*btf.Var)
		if !ok {
			continue
		}
		switch vr.Name {
		case "runqueues":
			rq = int64(v.Offset)
		case "__preempt_count":
			pc = int64(v.Offset)
		case "pcpu_hot":
			if pc >= 0 {
				continue
			}
			if st, ok := btf.UnderlyingType(vr.Type).(*btf.Struct); ok {
				for _, m := range st.Members {
					if m.Name == "preempt_count" {
						pc = int64(v.Offset) + int64(m.Offset.Bytes())
					}
				}
			}
		}
	}
	if rq < 0 || pc < 0 || pc == rq {
		return 0
	}
	return pc - rq
}

// realtime reports a PREEMPT_RT kernel (kernel/ksysfs.c creates
// /sys/kernel/realtime only there). It serves softirqs in threads and keeps
// their state per task (softirq_ctrl), not in the CPU's preempt count, so
// there the softirq tracepoints must tell the context.
func realtime() bool {
	_, err := os.Stat("/sys/kernel/realtime")
	return err == nil
}

// SoftirqHooks reports whether the watcher traces every softirq
// (irq:softirq_entry/exit) to tell process from softirq context, because
// this kernel's preempt count could not be located.
func (w *Watcher) SoftirqHooks() bool { return w.softirqHooks }

// openNetfilter tries fentry on nf_send_reset and nf_send_reset6, writing
// into the shared ring buffer. Many kernels refuse fentry (EPERM under
// lockdown) or have not loaded nf_reject_ipv4; the caller falls back.
func (w *Watcher) openNetfilter(opts Options, ring int) error {
	spec, err := loadNf()
	if err != nil {
		return err
	}
	spec.Maps["nf_events"].MaxEntries = uint32(ring)
	if err := setNetNSFilter(spec.Variables, opts.NetNS); err != nil {
		return err
	}
	var objs nfObjects
	err = spec.LoadAndAssign(&objs, &ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{"nf_events": w.events, "nf_lost": w.lost, "netns_allow": w.netns},
	})
	if err != nil {
		return shortErr(err)
	}
	var links []link.Link
	for _, p := range []*ebpf.Program{objs.NfSendReset, objs.NfSendReset6} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			objs.Close()
			return shortErr(err)
		}
		links = append(links, l)
	}
	w.nf = &objs
	w.links = append(w.links, links...)
	return nil
}

// setNetNSFilter sets a collection's namespace filter: one namespace is a
// constant the verifier folds in (what a single --netns cost before
// several were allowed), several are looked up in netns_allow.
func setNetNSFilter(vars map[string]*ebpf.VariableSpec, netns []uint32) error {
	one := uint32(0)
	if len(netns) == 1 {
		one = netns[0]
	}
	if err := vars["filter_netns"].Set(one); err != nil {
		return fmt.Errorf("setting netns filter: %w", err)
	}
	if err := vars["filter_many"].Set(boolByte(len(netns) > 1)); err != nil {
		return fmt.Errorf("setting netns filter: %w", err)
	}
	return nil
}

// shortErr keeps the verifier log out of a one-line note: a VerifierError
// prints as one line (its last log line) with %v; the full log stays in
// the wrapped value for %+v.
func shortErr(err error) error { return err }

// fentryTrouble says in a few words why fentry did not work.
func fentryTrouble(err error) string {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return "refused by this kernel (operation not permitted)"
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, btf.ErrNotFound):
		return "unavailable (nf_reject_ipv4/ipv6 not loaded)"
	case errors.Is(err, ebpf.ErrNotSupported):
		return "not supported by this kernel"
	}
	return fmt.Sprintf("failed (%v)", err)
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// permission marks EPERM and EACCES as ErrPermission, keeping the text.
func permission(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return permErr{err}
	}
	return shortErr(err)
}

type permErr struct{ err error }

func (p permErr) Error() string        { return p.err.Error() }
func (p permErr) Unwrap() error        { return p.err }
func (p permErr) Is(target error) bool { return target == ErrPermission }

// Notes are one-line messages about features this kernel lacks and what
// the watcher does instead.
func (w *Watcher) Notes() []string { return w.notes }

// Foreign names the hook that finds RSTs the TCP stack did not send:
// "fentry" (nf_send_reset), "net_dev_queue", or "" when off.
func (w *Watcher) Foreign() string { return w.foreign }

// Read blocks for the next event and decodes it into e. After Close it
// returns an error matching os.ErrClosed. The buffer is the Watcher's; Read
// allocates nothing and must not be called concurrently.
func (w *Watcher) Read(e *Event) error {
	for {
		now := time.Now()
		if w.clock.Stale(now) {
			w.clock.Sync(now, w.BootNow())
		}
		next := now.Add(pollInterval)
		if !w.deadline.IsZero() && w.deadline.Before(next) {
			next = w.deadline
		}
		w.reader.SetDeadline(next)
		err := w.reader.ReadInto(&w.rec)
		if err == nil {
			return Decode(w.rec.RawSample, e)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && (w.deadline.IsZero() || time.Now().Before(w.deadline)) {
			continue
		}
		return fmt.Errorf("reading ring buffer: %w", err)
	}
}

// SetDeadline makes a blocked or later Read return an error matching
// os.ErrDeadlineExceeded at t; the zero time waits for ever.
func (w *Watcher) SetDeadline(t time.Time) { w.deadline = t }

// BootNow returns CLOCK_BOOTTIME in nanoseconds, the clock of Event.Boot.
func (w *Watcher) BootNow() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return uint64(ts.Nano())
}

// Time returns the wall-clock time of e, from the pair of clocks Read
// re-reads every SyncEvery.
func (w *Watcher) Time(e *Event) time.Time { return w.clock.Time(e.Boot) }

// Lost returns how many events the kernel dropped because the ring buffer
// was full, summed over CPUs.
func (w *Watcher) Lost() (uint64, error) {
	var per []uint64
	if err := w.lost.Lookup(uint32(0), &per); err != nil {
		return 0, fmt.Errorf("reading lost-event counter: %w", err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}

// Close detaches every program and frees the maps. It unblocks Read.
func (w *Watcher) Close() error {
	for _, l := range w.links {
		l.Close()
	}
	w.links = nil
	if w.reader != nil {
		w.reader.Close()
	}
	w.main.Close()
	if w.nf != nil {
		w.nf.Close()
	}
	if w.events != nil {
		w.events.Close()
	}
	if w.lost != nil {
		w.lost.Close()
	}
	if w.netns != nil {
		w.netns.Close()
	}
	return nil
}
