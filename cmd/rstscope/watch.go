package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/kernel"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

func init() { register(newWatchCmd) }

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
	netns       netnsList
	ringMiB     int
	noForeign   bool
	window      time.Duration
	filter      filterFlags
	export      exportFlags
	logs        watchLogFlags
	cpuProfile  string
}

func newWatchCmd() *cobra.Command {
	var wf watchFlags
	c := &cobra.Command{
		Use:   "watch [flags]",
		Short: "explain TCP resets on this host live, with the kernel's own reason (eBPF, root)",
		Long: `Explains every TCP reset this host sends or receives, live, with the kernel's own
reason (tcp:tcp_send_reset, Linux 6.10+), the socket state and the process. Needs
root, or CAP_BPF with CAP_PERFMON.

The filters (--cause, --sender, --host, --port, --attention, --since, --until,
--min-confidence) choose which resets are printed, and pushed to --loki-url and
--otlp-url; --metrics-addr counts every reset whatever the filters. Durations in --since and --until count from the
moment the watch starts.`,
		Example: `  sudo rstscope watch
  sudo rstscope watch --attention --port 443
  sudo rstscope watch -f ndjson --cause closed-port,half-open | jq .command
  sudo rstscope watch -i eth0 --metrics-addr :9965
  sudo rstscope watch --netns /run/netns/blue --until 10m
  sudo rstscope watch --metrics-addr 0.0.0.0:9965 --loki-url http://loki:3100 --otlp-url http://otel:4318`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("watch takes no arguments, got %q", args[0])
			}
			return runWatch(cmd.Context(), &wf, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := c.Flags()
	fs.StringVarP(&wf.format, "format", "f", "text", "output: text (one line per reset) or ndjson (one finding as JSON per line)")
	fs.StringVar(&wf.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at `ADDR` (host:port; a bare :port binds 127.0.0.1)")
	fs.StringVarP(&wf.iface, "interface", "i", "", "also capture packets on `IFACE` and analyse them")
	fs.Var(&wf.netns, "netns", "only these network namespaces (repeat the flag or separate with commas): an inode number or a path like /proc/PID/ns/net or /run/netns/NAME")
	fs.IntVar(&wf.ringMiB, "ring-mib", 8, "eBPF ring buffer size in MiB (a power of two)")
	fs.BoolVar(&wf.noForeign, "no-foreign", false, "do not look for RSTs the TCP stack did not send (netfilter rejects); saves a check per transmitted packet")
	fs.DurationVar(&wf.window, "foreign-window", 250*time.Millisecond, "how long a RST on the wire waits for the TCP stack to claim it before it is called foreign")
	fs.StringVar(&wf.cpuProfile, "cpuprofile", "", "write a CPU profile of the watch to `FILE` until it ends, for go tool pprof")
	c.MarkFlagFilename("cpuprofile")
	wf.filter.add(c, "the watch's start")
	wf.export.add(fs)
	wf.logs.add(fs)
	c.RegisterFlagCompletionFunc("format", fixedCompletions("text", "ndjson"))
	c.RegisterFlagCompletionFunc("interface", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var names []cobra.Completion
		ifs, _ := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func runWatch(ctx context.Context, wf *watchFlags, stdout, stderr io.Writer) (err error) {
	filter, err := wf.filter.resolve(time.Now())
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if wf.format != "text" && wf.format != "ndjson" {
		return fmt.Errorf("unknown format %q (want text or ndjson)", wf.format)
	}
	if wf.cpuProfile != "" {
		stop, err := startCPUProfile(wf.cpuProfile)
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		defer stop()
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
		return fmt.Errorf("--ring-mib %d: want a power of two", wf.ringMiB)
	}

	names, err := kernel.LoadNames()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if note := prepareTracefs(); note != "" {
		fmt.Fprintln(stderr, "rstscope:", note)
	}
	w, err := kernel.Open(kernel.Options{NetNS: wf.netns, RingBytes: wf.ringMiB << 20, NoForeign: wf.noForeign})
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
	if filter.Active() {
		out.filter = &filter
		defer func() {
			if out.matched == 0 {
				fmt.Fprintf(stderr, "rstscope: no reset matched %s (%d seen)\n", filter.String(), out.seen)
			}
		}()
	}
	if out.ndjson {
		out.enc = render.NewNDJSON(bw)
	}
	defer func() {
		if ferr := out.flush(); ferr != nil && err == nil {
			err = ferr
		}
	}()
	var metrics *render.Metrics
	if wf.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		metrics = render.NewMetrics(reg, "kernel", "capture")
		foreign := w.Foreign()
		if foreign == "" {
			foreign = "off"
		}
		metrics.SetInfo(foreign, names.Source)
		labelMetrics(metrics, wf.netns)
		stop, addr, err := serveMetrics(wf.metricsAddr, reg)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(stderr, "rstscope: metrics at http://%s/metrics\n", addr)
	}
	out.metrics = metrics
	if out.sinks, err = wf.export.start(metrics, stderr); err != nil {
		return err
	}
	defer out.sinks.close(stderr)

	// With --logs each finding waits for its programs' lines first.
	emit, stopLogs, err := wf.logs.start(out.emit, stderr)
	if err != nil {
		return err
	}
	defer stopLogs()

	ctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var packetErr chan error
	kernelEmit := emit
	if wf.iface != "" {
		// The kernel and the packets each see a reset sent or received
		// here; the joiner makes one finding of the two halves.
		j := &diagnose.Joiner{Window: 2 * diagnose.LiveLookAhead, Emit: emit}
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

	a := diagnose.NewKernelAttributor(names, localPortRange(), &kernel.Cgroups{}, &kernel.NetNSAddrs{})
	err = watchLoop(ctx, w, a, out, kernelEmit, stderr, wf.window)
	if lost, lerr := w.Lost(); lerr == nil && lost > 0 {
		fmt.Fprintf(stderr, "rstscope: %d kernel events lost in total (ring buffer full; raise --ring-mib)\n", lost)
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
func watchLoop(ctx context.Context, w *kernel.Watcher, a *diagnose.KernelAttributor, out *findingWriter, emit func(report.Finding), stderr io.Writer, window time.Duration) error {
	corr := &kernel.Correlator{Window: window}
	var e kernel.Event
	var lostSeen uint64
	// The correlator's clock: now once the ring buffer was found empty,
	// else the latest event read. Behind on a backlog (the process starved
	// of CPU, or a burst of events), now would release a RST seen on the
	// wire before the stack's event claiming it, still in the ring, was
	// read: a reset the local stack sent reported as injected by the path
	// (seen once, TestWatchRealResets under a load average of 20).
	var lastBoot uint64
	idle := false
	lastCheck := time.Now()
	tick := 100 * time.Millisecond
	emitReset := func(r *kernel.Reset) {
		emit(a.Finding(r, w.Time(&r.Event)))
	}
	defer corr.Flush(emitReset)
	for ctx.Err() == nil {
		w.SetDeadline(time.Now().Add(tick))
		err := w.Read(&e)
		switch {
		case err == nil:
			a.Observe(&e)
			corr.Add(&e)
			lastBoot, idle = max(lastBoot, e.Boot), false
		case errors.Is(err, os.ErrDeadlineExceeded):
			idle = true
			if err := out.flush(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("watch: %w", err)
		}
		if now := time.Now(); now.Sub(lastCheck) >= tick {
			lastCheck = now
			a.Prime()
			clock := w.BootNow()
			if !idle {
				clock = min(clock, lastBoot)
			}
			corr.Expire(clock, emitReset)
			if err := out.flush(); err != nil {
				return err
			}
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
	sinks   sinks // log stores: the findings written, as they are written
	buf     []byte
	err     error
	// filter, when set, chooses the findings written; metrics count every one.
	filter        *report.Filter
	seen, matched int
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
// It returns the first error writing the output ever met (a full disk, a
// closed pipe), which ends the watch: findings nobody can read are not
// worth the kernel's time.
func (o *findingWriter) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil && o.bw != nil {
		o.err = o.bw.Flush()
	}
	if o.err != nil {
		return fmt.Errorf("writing findings: %w", o.err)
	}
	return nil
}

func (o *findingWriter) emit(f report.Finding) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.metrics != nil {
		o.metrics.Observe(&f)
	}
	o.seen++
	if o.filter != nil && !o.filter.Match(&f) {
		return
	}
	o.matched++
	o.sinks.push(&f)
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
//	15:04:05.000000 sent 10.0.0.1:80 > 10.0.0.2:4242 unread-data-close reason=TCP_ABORT_ON_CLOSE state=TCP_ESTABLISHED pid=42 comm=nginx cgroup=/system.slice/nginx.service netns=4026531840 log=/var/log/nginx/access.log:7 "…"
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
	if len(f.Logs) > 0 { // --logs: the best line joined, quoted
		l := &f.Logs[0]
		b = append(b, " log="...)
		b = append(b, l.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(l.Line), 10)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, l.Text)
	}
	return append(b, '\n')
}

// netnsList is --netns: each value an inode number or a path to stat,
// given several times or separated by commas.
type netnsList []uint32

func (l *netnsList) String() string { return fmt.Sprint([]uint32(*l)) }

// Type names the value in --help (pflag.Value).
func (l *netnsList) Type() string { return "netns" }

func (l *netnsList) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			*l = append(*l, uint32(n))
			continue
		}
		ino, err := fileInode(v)
		if err != nil {
			return err
		}
		*l = append(*l, ino)
	}
	if len(*l) > kernel.MaxNetNS {
		return fmt.Errorf("at most %d namespaces", kernel.MaxNetNS)
	}
	return nil
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
