package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/kernel"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

func init() {
	register(command{
		name:    "watch",
		summary: "explain TCP resets on this host live, with the kernel's own reason (eBPF, root)",
		run:     runWatch,
	})
}

// watchPackets is the hook for -i IFACE, kept apart from the kernel side:
// it captures packets on iface (AF_PACKET), runs the packet analyzer on
// them and passes each finding to emit until ctx is done; dropped reports
// the running total of packets the capture lost (it feeds
// rstscope_events_lost_total{source="capture"}). Both callbacks are safe
// for concurrent use. It returns nil or context.Canceled when ctx ends.
// It is nil until package diagnose provides it; wire it from a file of its
// own, e.g. cmd/rstscope/watch_packets.go:
//
//	func init() { watchPackets = diagnose.WatchInterface }
var watchPackets func(ctx context.Context, iface string, emit func(report.Finding), dropped func(total uint64)) error

type watchFlags struct {
	format      string
	metricsAddr string
	iface       string
	netns       string
	ringMiB     int
	noForeign   bool
	window      time.Duration
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var wf watchFlags
	fs.StringVar(&wf.format, "format", "text", "output: text (one line per reset) or ndjson (one finding as JSON per line)")
	fs.StringVar(&wf.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at `ADDR` (host:port; a bare :port binds 127.0.0.1)")
	fs.StringVar(&wf.iface, "i", "", "also capture packets on `IFACE` and analyse them")
	fs.StringVar(&wf.netns, "netns", "", "only this network namespace: an inode number or a path like /proc/PID/ns/net or /run/netns/NAME")
	fs.IntVar(&wf.ringMiB, "ring-mib", 8, "eBPF ring buffer size in MiB (a power of two)")
	fs.BoolVar(&wf.noForeign, "no-foreign", false, "do not look for RSTs the TCP stack did not send (netfilter rejects); saves a check per transmitted packet")
	fs.DurationVar(&wf.window, "foreign-window", 250*time.Millisecond, "how long a RST on the wire waits for the TCP stack to claim it before it is called foreign")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rstscope watch [flags]\n\nExplain every TCP reset this host sends or receives, live.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("watch takes no arguments, got %q", fs.Arg(0))
	}
	if wf.format != "text" && wf.format != "ndjson" {
		return fmt.Errorf("unknown format %q (want text or ndjson)", wf.format)
	}
	if wf.iface != "" {
		if watchPackets == nil {
			return errors.New("-i needs the packet analyzer, which this build does not include")
		}
		if _, err := net.InterfaceByName(wf.iface); err != nil {
			return fmt.Errorf("-i %s: no such interface here", wf.iface)
		}
	}
	if wf.ringMiB <= 0 || wf.ringMiB&(wf.ringMiB-1) != 0 {
		return fmt.Errorf("-ring-mib %d: want a power of two", wf.ringMiB)
	}
	netns, err := parseNetNS(wf.netns)
	if err != nil {
		return err
	}

	names, err := kernel.LoadNames()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	prepareTracefs()
	w, err := kernel.Open(kernel.Options{NetNS: netns, RingBytes: wf.ringMiB << 20, NoForeign: wf.noForeign})
	switch {
	case errors.Is(err, kernel.ErrPermission):
		return fmt.Errorf("watch needs root, or CAP_BPF with CAP_PERFMON, to load eBPF: %w", err)
	case err != nil:
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Close()
	for _, n := range w.Notes() {
		fmt.Fprintln(stderr, "rstscope:", n)
	}

	// Buffered: one write per poll tick rather than one per reset, which
	// halved the watcher's CPU per event under a SYN flood (docs/watch.md).
	bw := bufio.NewWriterSize(stdout, 64<<10)
	out := &findingWriter{w: bw, bw: bw, ndjson: wf.format == "ndjson"}
	if out.ndjson {
		out.enc = render.NewNDJSON(bw)
	}
	defer out.flush()
	var metrics *render.Metrics
	if wf.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		metrics = render.NewMetrics(reg, "kernel", "capture")
		foreign := w.Foreign()
		if foreign == "" {
			foreign = "off"
		}
		metrics.SetInfo(foreign, names.Source)
		stop, addr, err := serveMetrics(wf.metricsAddr, reg)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(stderr, "rstscope: metrics at http://%s/metrics\n", addr)
	}
	out.metrics = metrics

	ctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var packetErr chan error
	kernelEmit := out.emit
	if wf.iface != "" {
		// The kernel and the packets each see a reset sent or received
		// here; the joiner makes one finding of the two halves.
		j := &diagnose.Joiner{Window: 2 * diagnose.LiveLookAhead, Emit: out.emit}
		kernelEmit = func(f report.Finding) { j.Add(f, true, time.Now()) }
		packetEmit := func(f report.Finding) { j.Add(f, false, time.Now()) }
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case now := <-t.C:
					j.Flush(now)
				case <-pctx.Done():
					return
				}
			}
		}()
		defer j.Flush(time.Time{})
		packetErr = make(chan error, 1)
		go func() {
			err := watchPackets(pctx, wf.iface, packetEmit, out.captureLost(stderr))
			packetErr <- err
			if err != nil {
				stopWatch() // a capture that failed ends the watch with its error
			}
		}()
	}

	foreign := w.Foreign()
	if foreign == "" {
		foreign = "off"
	}
	fmt.Fprintf(stderr, "rstscope: watching TCP resets (reasons from %s, foreign RSTs via %s); Ctrl-C to stop\n", names.Source, foreign)

	a := &attributor{names: names, ports: localPortRange(), cgroups: &kernel.Cgroups{}}
	err = watchLoop(ctx, w, a, out, kernelEmit, stderr, wf.window)
	if lost, lerr := w.Lost(); lerr == nil && lost > 0 {
		fmt.Fprintf(stderr, "rstscope: %d kernel events lost in total (ring buffer full; raise -ring-mib)\n", lost)
	}
	if err != nil {
		return err
	}
	if packetErr != nil {
		select {
		case perr := <-packetErr:
			if perr != nil && !errors.Is(perr, context.Canceled) {
				return fmt.Errorf("capturing on %s: %w", wf.iface, perr)
			}
		case <-time.After(2 * time.Second):
		}
	}
	return nil
}

// watchLoop reads kernel events until ctx is done (Ctrl-C, SIGTERM), holding
// RSTs seen on the wire for window (kernel.Correlator) and reporting lost
// events as they grow. Reads time out every tick, so cancellation is seen
// within one tick and the deferred Close detaches everything.
func watchLoop(ctx context.Context, w *kernel.Watcher, a *attributor, out *findingWriter, emit func(report.Finding), stderr io.Writer, window time.Duration) error {
	corr := &kernel.Correlator{Window: window}
	var e kernel.Event
	var lostSeen uint64
	lastCheck := time.Now()
	tick := 100 * time.Millisecond
	emitForeign := func(ev *kernel.Event) {
		emit(a.finding(ev, w.Time(ev)))
	}
	for ctx.Err() == nil {
		w.SetDeadline(time.Now().Add(tick))
		err := w.Read(&e)
		switch {
		case err == nil:
			if corr.Add(&e) {
				emit(a.finding(&e, w.Time(&e)))
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			out.flush()
		default:
			return fmt.Errorf("watch: %w", err)
		}
		if now := time.Now(); now.Sub(lastCheck) >= tick {
			lastCheck = now
			corr.Expire(w.BootNow(), emitForeign)
			out.flush()
			if lost, err := w.Lost(); err == nil && lost != lostSeen {
				fmt.Fprintf(stderr, "rstscope: %d kernel events lost (ring buffer full)\n", lost-lostSeen)
				lostSeen = lost
				if out.metrics != nil {
					out.metrics.SetLost("kernel", lost)
				}
			}
		}
	}
	return nil
}

// findingWriter writes findings as text lines or NDJSON and counts them;
// kernel events and packet findings share it, so it locks.
type findingWriter struct {
	mu      sync.Mutex
	w       io.Writer
	bw      *bufio.Writer
	ndjson  bool
	enc     *render.NDJSON
	metrics *render.Metrics
	buf     []byte
	err     error
}

// captureLost returns the dropped callback for watchPackets: it exports
// the total and says on stderr when it grows.
func (o *findingWriter) captureLost(stderr io.Writer) func(uint64) {
	var seen uint64
	return func(total uint64) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.metrics != nil {
			o.metrics.SetLost("capture", total)
		}
		if total > seen {
			fmt.Fprintf(stderr, "rstscope: %d packets lost by the capture on the interface\n", total-seen)
			seen = total
		}
	}
}

// flush writes out buffered lines; the watch loop calls it every poll tick.
func (o *findingWriter) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil && o.bw != nil {
		o.err = o.bw.Flush()
	}
}

func (o *findingWriter) emit(f report.Finding) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.metrics != nil {
		o.metrics.Observe(&f)
	}
	if o.err != nil {
		return
	}
	if o.ndjson {
		o.err = o.enc.Write(f)
		return
	}
	o.buf = appendLine(o.buf[:0], &f)
	_, o.err = o.w.Write(o.buf)
}

// appendLine formats one live text line:
//
//	15:04:05.000000 sent 10.0.0.1:80 > 10.0.0.2:4242 unread-data-close reason=TCP_ABORT_ON_CLOSE state=TCP_ESTABLISHED pid=42 comm=nginx cgroup=/system.slice/nginx.service netns=4026531840
func appendLine(b []byte, f *report.Finding) []byte {
	b = f.Time.AppendFormat(b, "15:04:05.000000")
	b = append(b, ' ')
	b = append(b, f.Direction...)
	b = append(b, ' ')
	b = append(b, f.From...)
	b = append(b, " > "...)
	to := f.Server
	if to == f.From {
		to = f.Client
	}
	b = append(b, to...)
	b = append(b, ' ')
	b = append(b, f.Cause...)
	if f.KernelReason != "" {
		b = append(b, " reason="...)
		b = append(b, f.KernelReason...)
	}
	if f.State != "" {
		b = append(b, " state="...)
		b = append(b, f.State...)
	}
	b = append(b, " sender="...)
	b = append(b, f.Sender...)
	if f.Context == "process" {
		b = append(b, " pid="...)
		b = strconv.AppendInt(b, int64(f.PID), 10)
		b = append(b, " comm="...)
		b = append(b, f.Command...)
		if f.Cgroup != "" {
			b = append(b, " cgroup="...)
			b = append(b, f.Cgroup...)
		}
	} else if f.Context != "" {
		b = append(b, " ctx="...)
		b = append(b, f.Context...)
	}
	if f.NetNS != 0 {
		b = append(b, " netns="...)
		b = strconv.AppendUint(b, f.NetNS, 10)
	}
	return append(b, '\n')
}

// parseNetNS turns -netns into an inode: a number, or a path to stat.
func parseNetNS(s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	ino, err := fileInode(s)
	if err != nil {
		return 0, fmt.Errorf("-netns: %w", err)
	}
	return ino, nil
}

// metricsListenAddr binds a bare ":port" (or "port") to 127.0.0.1: metrics
// go beyond the host only when a host is given explicitly (0.0.0.0:9965).
func metricsListenAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		return "127.0.0.1:" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// serveMetrics serves reg on addr until stop is called.
func serveMetrics(addr string, reg *prometheus.Registry) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", metricsListenAddr(addr))
	if err != nil {
		return nil, "", fmt.Errorf("serving metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, ln.Addr().String(), nil
}

// attributor turns a kernel event into a Finding: the cause from the
// kernel's reason (cause.ForKernelReason) refined by what the event shows,
// the roles of both ends, and the task when the reset came from one.
//
// TODO(diagnose): this join belongs in package diagnose once it exists;
// kernel stays a leaf that knows nothing of causes.
type attributor struct {
	names   *kernel.Names
	ports   [2]uint16 // net.ipv4.ip_local_port_range
	cgroups *kernel.Cgroups
	// sent remembers recent causes of RSTs this host sent, so a RST both
	// sent and received here (two namespaces, loopback) explains both ends.
	sent map[[2]netip.AddrPort]cause.ID
}

const (
	tcpSYN = 0x02
	tcpACK = 0x10
	// kernel TCP states (include/net/tcp_states.h); ABI, printed by ss.
	stateSynSent    = 2
	stateSynRecv    = 3
	stateFinWait2   = 5
	stateTimeWait   = 6
	stateListen     = 10
	stateNewSynRecv = 12
)

func (a *attributor) finding(e *kernel.Event, at time.Time) report.Finding {
	f := report.Finding{
		Time:    at.UTC(),
		From:    e.From.String(),
		State:   a.names.State(e.State),
		NetNS:   uint64(e.NetNS),
		Context: e.Context.String(),
	}
	if e.Context == kernel.ContextUnknown {
		f.Context = ""
	}
	if e.State == stateTimeWait && e.Substate != 0 && e.Substate != stateTimeWait {
		f.State += "/" + a.names.State(e.Substate)
	}
	client, server := a.roles(e)
	f.Client, f.Server = client.String(), server.String()
	f.Sender = cause.Server
	if e.From == client {
		f.Sender = cause.Client
	}
	var id cause.ID
	switch e.Kind {
	case kernel.Sent:
		f.Direction = "sent"
		f.KernelReason = a.names.Reason(e.Reason)
		id, f.Confidence = a.sentCause(e, f.KernelReason)
		ev := "kernel: tcp_send_reset reason=" + f.KernelReason
		if f.State != "" {
			ev += " state=" + f.State
		}
		f.Evidence = append(f.Evidence, ev)
		if e.InFlags != 0 {
			f.Evidence = append(f.Evidence, "it answered a segment with flags "+flagString(e.InFlags))
		}
		if len(a.sent) > 4096 {
			clear(a.sent)
		}
		if a.sent == nil {
			a.sent = make(map[[2]netip.AddrPort]cause.ID)
		}
		a.sent[[2]netip.AddrPort{e.From, e.To}] = id
	case kernel.Received:
		f.Direction = "received"
		f.Evidence = append(f.Evidence, "kernel: tcp_receive_reset on a socket in "+orDash(f.State))
		if sid, ok := a.sent[[2]netip.AddrPort{e.From, e.To}]; ok {
			id, f.Confidence = sid, 0.9
			f.Evidence = append(f.Evidence, "this host also sent it, as "+string(sid))
		} else if e.State == stateSynSent {
			id, f.Confidence = cause.ClosedPort, 0.5
			f.Evidence = append(f.Evidence, "a RST answered our SYN: no listener there, or a firewall rejects the connection")
		} else {
			id, f.Confidence = cause.Unknown, 0.2
			f.Evidence = append(f.Evidence, "the peer's reason is not visible from this host; capture with -i to see the wire")
		}
	case kernel.Wire, kernel.Netfilter:
		f.Direction = "sent"
		f.KernelReason = ""
		id, f.Confidence = cause.FirewallReject, 0.8
		if e.Kind == kernel.Netfilter {
			f.Confidence = 0.95
			f.Evidence = append(f.Evidence, "kernel: nf_send_reset built this RST (netfilter reject with tcp reset)")
		} else {
			f.Evidence = append(f.Evidence, "a RST left a device on this host and the TCP stack did not send it (no tcp_send_reset for this 4-tuple): not from the TCP stack, most likely netfilter's reject with tcp reset")
		}
	}
	f.Cause = id
	info := cause.Lookup(id)
	f.Advice = info.Advice
	f.Benign = info.Benign
	if e.Context == kernel.ContextProcess {
		f.PID = int(e.PID)
		f.Command = e.CommString()
		f.Cgroup = a.cgroups.Path(e.CgroupID)
		f.Evidence = append(f.Evidence, fmt.Sprintf("sent from process context by pid %d (%s)", e.PID, f.Command))
	} else if e.Context == kernel.ContextKernel {
		f.Evidence = append(f.Evidence, "sent from kernel context (softirq: the receive path or a timer), not by a task")
	}
	return f
}

// sentCause maps the kernel's reason to a cause and refines it with the
// state and the segment the RST answered.
func (a *attributor) sentCause(e *kernel.Event, reason string) (cause.ID, float64) {
	id := cause.ForKernelReason(reason)
	switch {
	case reason == "NO_SOCKET" && e.InFlags != 0 && e.InFlags&tcpSYN == 0:
		// A mid-connection segment found no socket: the peer kept using a
		// connection this host no longer has.
		return cause.HalfOpen, 0.8
	case reason == "INVALID_SYN" && e.State != stateListen:
		return cause.InvalidSegment, 0.7
	case reason == "TCP_TIMEWAIT_SOCKET" && e.Substate == stateFinWait2:
		// The application closed, the orphan sat in FIN-WAIT-2 as a
		// time-wait socket, and the peer still sent data (DESIGN.md: "data
		// after close with default settings").
		return cause.DataAfterClose, 0.85
	case id == cause.Unknown:
		return id, 0.3
	}
	return id, 0.9
}

// roles guesses which end opened the connection. A RST answering a SYN, or
// sent by a listener, comes from the server; a socket in SYN-SENT is the
// client; otherwise the end using an ephemeral port (ip_local_port_range)
// is the client, and failing that the lower port is the server.
func (a *attributor) roles(e *kernel.Event) (client, server netip.AddrPort) {
	from, to := e.From, e.To
	fromIsServer := func() bool {
		switch {
		case e.Kind == kernel.Sent && e.InFlags&(tcpSYN|tcpACK) == tcpSYN:
			return true
		case e.State == stateListen || e.State == stateSynRecv || e.State == stateNewSynRecv:
			return e.Kind != kernel.Received
		case e.State == stateSynSent:
			return e.Kind == kernel.Received
		}
		fe, te := a.ephemeral(from.Port()), a.ephemeral(to.Port())
		if fe != te {
			return te
		}
		return from.Port() < to.Port()
	}()
	if fromIsServer {
		return to, from
	}
	return from, to
}

func (a *attributor) ephemeral(p uint16) bool { return p >= a.ports[0] && p <= a.ports[1] }

func flagString(f uint8) string {
	var b []byte
	for i, n := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"} {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, n...)
		}
	}
	return string(b)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
