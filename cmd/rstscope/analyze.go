package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

func init() { register(newAnalyzeCmd) }

// analyzeFlags are analyze's options.
type analyzeFlags struct {
	format, out     string
	maxConns        int
	idle, lookTime  time.Duration
	lookPkts        int
	noClassify, all bool
	frame           uint64
	filter          filterFlags
	cpuProfile      string
	logs            logFlags
}

func newAnalyzeCmd() *cobra.Command {
	var af analyzeFlags
	c := &cobra.Command{
		Use:   "analyze [flags] FILE...",
		Short: "explain every TCP reset in capture files (pcap, pcapng, gzip, bzip2, - for stdin)",
		Long: `Explains every TCP reset in the capture files: who sent it, why, and what to do next.
FILE may be pcap or pcapng, gzip- or bzip2-compressed or not; - reads standard input.

The text report opens with a summary, then groups the resets by what a person
acts on (cause, sender, server) with each group's count, time span, a
representative reset's evidence, the advice once and example frames; groups that
deserve attention come first, largest first. Every reset is listed when there are
at most 50, or with --all. json, ndjson and html carry one finding per reset.
text, json and html list findings and connections in the files' order, each file's
by frame; ndjson and conn write each as soon as it is known, so with several files
(analysed at the same time) their lines interleave in an order that can change from
run to run (each line names its file; ` + "`sort`" + ` or ` + "`jq -s 'sort_by(.file, .frame)'`" + `
puts them back).

The filters (--cause, --sender, --host, --port, --attention, --since, --until,
--min-confidence) apply to every format; a filter that matches nothing says so on
standard error and the exit status stays 0.`,
		Example: `  rstscope analyze trace.pcapng
  rstscope analyze --all trace.pcap                       # list every reset
  rstscope analyze --attention --port 443 trace.pcap      # only what needs a look, on port 443
  rstscope analyze --cause closed-port,half-open -f ndjson trace.pcap | jq -r .from
  rstscope analyze --since 5m --until 10m trace.pcap      # minutes 5 to 10 of the capture
  rstscope analyze -f html -o report.html trace.pcap
  tcpdump -i eth0 -w - 'tcp' | rstscope analyze -f ndjson -`,
		RunE: func(cmd *cobra.Command, files []string) error {
			colour, _ := cmd.Flags().GetString("color")
			return runAnalyze(cmd.Context(), &af, colour, files, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := c.Flags()
	fs.StringVarP(&af.format, "format", "f", "text", "output format: text, json, ndjson, html (one self-contained page) or conn (Zeek conn.log)")
	fs.StringVarP(&af.out, "output", "o", "", "write the output to `FILE` instead of standard output")
	fs.BoolVarP(&af.all, "all", "a", false, "text: list every reset under its group (the default when there are at most 50)")
	fs.IntVar(&af.maxConns, "max-conns", flow.DefaultConfig.MaxConns, "most connections tracked at once per file; past it the least recently active goes, closed ones first, then unanswered SYNs (kept compact, 88 bytes), then open ones")
	fs.DurationVar(&af.idle, "idle-timeout", flow.DefaultConfig.IdleTimeout, "end a connection after this much capture time without a packet")
	fs.IntVar(&af.lookPkts, "lookahead", diagnose.DefaultOptions.LookAheadPackets, "packets of a connection to watch after a reset before its verdict")
	fs.DurationVar(&af.lookTime, "lookahead-time", diagnose.DefaultOptions.LookAheadTime, "capture time to watch after a reset before its verdict")
	fs.Uint64Var(&af.frame, "frame", 0, "show only the reset at this frame: its connection's packets as a ladder, the evidence and the advice (text)")
	fs.BoolVar(&af.noClassify, "no-classify", false, "track connections only, without explaining resets (for benchmarks)")
	fs.StringVar(&af.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE`, for go tool pprof")
	c.MarkFlagFilename("cpuprofile")
	af.filter.add(c, "the capture's first packet")
	af.logs.add(fs)
	c.RegisterFlagCompletionFunc("format", fixedCompletions("text", "json", "ndjson", "html", "conn"))
	c.MarkFlagFilename("output")
	c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"pcap", "pcapng", "gz", "cap"}, cobra.ShellCompDirectiveFilterFileExt
	}
	return c
}

func runAnalyze(ctx context.Context, af *analyzeFlags, colour string, files []string, stdout, stderr io.Writer) error {
	if len(files) == 0 {
		return errors.New("analyze: no capture file given (use - for standard input; see rstscope analyze --help)")
	}
	switch af.format {
	case "text", "json", "ndjson", "html", "conn":
	default:
		return fmt.Errorf("analyze: unknown format %q (want text, json, ndjson, html or conn)", af.format)
	}
	if err := checkColour(colour); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	var start time.Time
	if af.filter.relative() {
		var err error
		if start, err = captureStart(files); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	filter, err := af.filter.resolve(start)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if af.format == "conn" && (len(filter.Causes) > 0 || len(filter.Senders) > 0 || filter.Attention || filter.MinConfidence > 0) {
		return errors.New("analyze: --format conn lists connections, which have no cause, sender or confidence: only --host, --port, --since and --until apply")
	}
	if os.Getenv("GOGC") == "" {
		// The connection table is most of the heap and lives to the end;
		// the collector's default of letting the heap grow to twice what
		// is live put peak RSS at 67-78 MB on bench/out/traffic.pcap
		// with two cores (2.3 M packets, 21 k connections at the peak),
		// over issue 14's 64 MB; at 50 % it was 62-66 MB (median 64),
		// for 6 % more CPU time (1.65 s against 1.55; on one core 59
		// against 66 MB, 1.60 s against 1.50; medians of seven
		// alternating runs; 70 % still gave 64-68 MB on two cores).
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	if af.cpuProfile != "" {
		stop, err := startCPUProfile(af.cpuProfile)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		defer stop()
	}
	w, dest := stdout, "standard output" // dest names the output in errors
	if af.out != "" {
		f, err := os.Create(af.out)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		defer f.Close()
		w, dest = f, af.out
	}

	logs, err := af.logs.open()
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if logs != nil {
		defer logs.Close()
		defer func() {
			if logs.Err() == nil {
				logNotes(stderr, logs)
			}
		}()
	}
	opts := diagnose.DefaultOptions
	opts.Flow.MaxConns, opts.Flow.IdleTimeout = af.maxConns, af.idle
	opts.LookAheadPackets, opts.LookAheadTime = af.lookPkts, af.lookTime
	opts.NoClassify = af.noClassify || af.format == "conn"

	var (
		mu             sync.Mutex
		rep            report.Report
		werr           error
		total, matched int // findings (or connections, for conn) before and after the filter
	)
	active := filter.Active()
	keep := func(f *report.Finding) bool {
		total++
		if active && !filter.Match(f) {
			return false
		}
		matched++
		return true
	}
	var finish []func() error // flushes and footers, run once the input is read
	switch af.format {
	case "ndjson":
		// Files are read as fast as the disk allows, so their lines are
		// buffered; from standard input (a live tcpdump, say) each line goes
		// out as soon as its look-ahead closes.
		nw, live := w, slices.Contains(files, "-")
		var flush func() error
		if !live {
			bw := bufio.NewWriterSize(w, 64<<10)
			flush, nw = bw.Flush, bw
		}
		nd := render.NewNDJSON(nw)
		write := func(f report.Finding, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && werr == nil {
				werr = err
			}
			if !keep(&f) {
				return
			}
			if err := nd.Write(f); err != nil && werr == nil {
				werr = err
			}
		}
		opts.OnFinding = func(f report.Finding) { write(f, nil) }
		if logs != nil {
			// Joined in batches as they stream, written in the order they
			// came; from standard input a finding waits at most ndjsonHold
			// for its batch.
			hold := time.Duration(0)
			if live {
				hold = ndjsonHold
			}
			ls := logs.Stream(hold, write)
			opts.OnFinding = ls.Add
			finish = append(finish, func() error { ls.Close(); return nil })
		}
		if flush != nil {
			finish = append(finish, flush)
		}
	case "conn":
		cl := render.NewConnLog(w)
		finish = append(finish, cl.Close)
		opts.OnConn = func(c report.ConnSummary) {
			mu.Lock()
			defer mu.Unlock()
			total++
			if active && !connMatch(&filter, &c) {
				return
			}
			matched++
			if err := cl.Write(c); err != nil && werr == nil {
				werr = err
			}
		}
	default:
		opts.OnFinding = func(f report.Finding) {
			mu.Lock()
			// With logs the filter runs after the join: a line may change the cause.
			if logs != nil || keep(&f) {
				rep.Findings = append(rep.Findings, f)
			}
			mu.Unlock()
		}
		if af.format == "json" {
			opts.OnConn = func(c report.ConnSummary) {
				if c.Resets == 0 || (active && !connMatch(&filter, &c)) {
					return
				}
				mu.Lock()
				rep.Connections = append(rep.Connections, c)
				mu.Unlock()
			}
		}
	}
	prog := newProgress(stderr, w)
	opts.Progress = prog.update

	stats, errs := analyzeFiles(ctx, files, opts)
	prog.done()
	rep.Summary.Files = stats
	switch af.format {
	case "text", "json", "html":
		if logs != nil {
			if err := logs.JoinAll(rep.Findings); err != nil {
				return fmt.Errorf("analyze: %w", err)
			}
			rep.Findings = slices.DeleteFunc(rep.Findings, func(f report.Finding) bool { return !keep(&f) })
		}
		rep.SortFindings()
		rep.Tally()
		if active {
			rep.Summary.Filters, rep.Summary.Unfiltered = filter.String(), total
		}
		if af.frame != 0 {
			f, l, err := diagnose.LadderFor(&rep, "", af.frame, opts)
			if err != nil {
				return fmt.Errorf("analyze: %w", err)
			}
			return render.LadderText{Color: useColour(colour, w)}.Render(w, f, l)
		}
		switch af.format {
		case "json":
			err = render.JSON(w, &rep)
		case "html":
			err = render.HTMLPage(w, &rep, diagnose.Ladders(&rep, opts))
		default:
			t := render.Text{Color: useColour(colour, w), All: af.all}
			err = t.Render(w, &rep)
		}
		if err != nil {
			return fmt.Errorf("analyze: writing %s: %w", dest, err)
		}
	}
	for _, f := range finish {
		if err := f(); err != nil && werr == nil {
			werr = err
		}
	}
	if werr != nil {
		return fmt.Errorf("analyze: writing %s: %w", dest, werr)
	}
	if active && matched == 0 && ctx.Err() == nil {
		what := "reset"
		if af.format == "conn" {
			what = "connection"
		}
		fmt.Fprintf(stderr, "rstscope: no %s matches %s (%d analysed)\n", what, filter.String(), total)
	}
	return errors.Join(errs...)
}

// ndjsonHold bounds how long (wall time) a finding read from standard
// input waits for others to be joined with it to the logs: a person
// watching a live capture does not see it, and with the bench capture
// piped in (~7 k findings a second) a batch still holds ~700, so the
// join cost 1.6-1.7 s of CPU against 1.4-1.5 s from the file (docs/logs.md).
const ndjsonHold = 100 * time.Millisecond

// connMatch applies the host, port and time fields of f to a connection;
// its time is when it started.
func connMatch(f *report.Filter, c *report.ConnSummary) bool {
	if !f.Since.IsZero() && c.Start.Before(f.Since) || !f.Until.IsZero() && !c.Start.Before(f.Until) {
		return false
	}
	a, _ := netip.ParseAddr(c.OrigH)
	b, _ := netip.ParseAddr(c.RespH)
	return f.MatchEnds(netip.AddrPortFrom(a, c.OrigP), netip.AddrPortFrom(b, c.RespP))
}

// captureStart is the time of the earliest first packet of the files, the
// origin of a --since or --until given as a duration. Standard input cannot
// be read twice, so it has none.
func captureStart(files []string) (time.Time, error) {
	var start time.Time
	for _, name := range files {
		if name == "-" {
			return time.Time{}, errors.New("--since/--until as a duration count from the capture's first packet, which standard input cannot give in advance: give an RFC 3339 time")
		}
		r, err := capture.Open(name)
		if err != nil {
			continue // analysing it reports the problem
		}
		_, info, err := r.Next()
		r.Close()
		if err == nil && (start.IsZero() || info.Time.Before(start)) {
			start = info.Time
		}
	}
	if start.IsZero() {
		return start, errors.New("--since/--until as a duration: no packet to count from in the files")
	}
	return start, nil
}

// analyzeFiles analyses files in parallel, one per core, and returns their
// statistics in the order given plus any errors (one line each).
func analyzeFiles(ctx context.Context, files []string, opts diagnose.Options) ([]report.FileStats, []error) {
	opts, joined := diagnose.JoinCaptures(ctx, files, opts) // captures of one traffic: one finding per reset
	defer joined()
	stats := make([]report.FileStats, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range files {
		if ctx.Err() != nil {
			errs[i] = fmt.Errorf("%s: not analysed: %w", name, capture.ErrInterrupted)
			stats[i] = report.FileStats{File: name, Error: "not analysed: interrupted", Interrupted: true}
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		o := opts
		// The files still to start, this one included, bound how many run
		// beside it: the last files get a read-ahead as cores free up.
		o.Concurrent = min(len(files)-i, cap(sem))
		go func() {
			defer func() { <-sem; wg.Done() }()
			stats[i], errs[i] = diagnose.ReadFileContext(ctx, name, o)
		}()
	}
	wg.Wait()
	return stats, errs
}

// checkColour validates --color.
func checkColour(mode string) error {
	switch mode {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf("--color %q: want auto, always or never", mode)
}

// useColour: always and never are obeyed; auto colours only a terminal, and
// not when NO_COLOR is set to anything (https://no-color.org).
func useColour(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(w) && os.Getenv("NO_COLOR") == ""
}

// progress prints one updating line on stderr, only when stderr is a
// terminal, the output does not go into a pipe (a pager would be drawn
// over), and the work has taken more than a second.
type progress struct {
	w       io.Writer
	on      bool
	start   time.Time
	mu      sync.Mutex
	printed bool
}

func newProgress(stderr, out io.Writer) *progress {
	return &progress{w: stderr, on: isTerminal(stderr) && !isPipe(out), start: time.Now()}
}

func (p *progress) update(file string, read, size int64) {
	if !p.on || time.Since(p.start) < time.Second {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if size > 0 {
		fmt.Fprintf(p.w, "\r\x1b[K%s: %.0f%% of %d MB", file, 100*float64(read)/float64(size), size>>20)
	} else {
		fmt.Fprintf(p.w, "\r\x1b[K%s: %d MB read", file, read>>20)
	}
	p.printed = true
}

func (p *progress) done() {
	if p.printed {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
