package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

func init() {
	register(command{name: "analyze", summary: "explain every TCP reset in capture files (pcap, pcapng, gzip, - for stdin)", run: runAnalyze})
}

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text, json, ndjson, html (one self-contained page) or conn (Zeek conn.log)")
	out := fs.String("o", "", "write the output to this file instead of standard output")
	maxConns := fs.Int("max-conns", flow.DefaultConfig.MaxConns, "most connections tracked at once per file; the least recently active is evicted past it")
	idle := fs.Duration("idle-timeout", flow.DefaultConfig.IdleTimeout, "end a connection after this much capture time without a packet")
	lookPkts := fs.Int("lookahead", diagnose.DefaultOptions.LookAheadPackets, "packets of a connection to watch after a reset before its verdict")
	lookTime := fs.Duration("lookahead-time", diagnose.DefaultOptions.LookAheadTime, "capture time to watch after a reset before its verdict")
	noClassify := fs.Bool("no-classify", false, "track connections only, without explaining resets (for benchmarks)")
	colour := fs.String("color", "auto", "colour the text output: auto (only on a terminal), always or never")
	frame := fs.Uint64("frame", 0, "show only the reset at this frame: its connection's packets as a ladder, the evidence and the advice (text)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rstscope analyze [flags] FILE...\n\nExplains every TCP reset: who sent it, why, and what to do next.\nFILE may be pcap or pcapng, gzip-compressed or not; - reads standard input.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		fs.Usage()
		return errors.New("analyze: no capture file given (use - for standard input)")
	}
	switch *format {
	case "text", "json", "ndjson", "html", "conn":
	default:
		return fmt.Errorf("analyze: unknown format %q (want text, json, ndjson, html or conn)", *format)
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		defer f.Close()
		w = f
	}

	opts := diagnose.DefaultOptions
	opts.Flow.MaxConns, opts.Flow.IdleTimeout = *maxConns, *idle
	opts.LookAheadPackets, opts.LookAheadTime = *lookPkts, *lookTime
	opts.NoClassify = *noClassify || *format == "conn"

	var (
		mu   sync.Mutex
		rep  report.Report
		werr error
	)
	var finish []func() error // flushes and footers, run once the input is read
	switch *format {
	case "ndjson":
		// Files are read as fast as the disk allows, so their lines are
		// buffered; from standard input (a live tcpdump, say) each line goes
		// out as soon as its look-ahead closes.
		nw := w
		if !slices.Contains(files, "-") {
			bw := bufio.NewWriterSize(w, 64<<10)
			finish = append(finish, bw.Flush)
			nw = bw
		}
		nd := render.NewNDJSON(nw)
		opts.OnFinding = func(f report.Finding) {
			mu.Lock()
			defer mu.Unlock()
			if err := nd.Write(f); err != nil && werr == nil {
				werr = err
			}
		}
	case "conn":
		cl := render.NewConnLog(w)
		finish = append(finish, cl.Close)
		opts.OnConn = func(c report.ConnSummary) {
			mu.Lock()
			defer mu.Unlock()
			if err := cl.Write(c); err != nil && werr == nil {
				werr = err
			}
		}
	default:
		opts.OnFinding = func(f report.Finding) {
			mu.Lock()
			rep.Findings = append(rep.Findings, f)
			mu.Unlock()
		}
		if *format == "json" {
			opts.OnConn = func(c report.ConnSummary) {
				if c.Resets == 0 {
					return
				}
				mu.Lock()
				rep.Connections = append(rep.Connections, c)
				mu.Unlock()
			}
		}
	}
	prog := newProgress(stderr)
	opts.Progress = prog.update

	stats, errs := analyzeFiles(ctx, files, opts)
	prog.done()
	rep.Summary.Files = stats
	switch *format {
	case "text", "json", "html":
		rep.SortFindings()
		rep.Tally()
		if *frame != 0 {
			f, l, err := diagnose.LadderFor(&rep, "", *frame, opts)
			if err != nil {
				return fmt.Errorf("analyze: %w", err)
			}
			return render.LadderText{Color: useColour(*colour, w)}.Render(w, f, l)
		}
		switch *format {
		case "json":
			if err := render.JSON(w, &rep); err != nil {
				return fmt.Errorf("analyze: writing output: %w", err)
			}
		case "html":
			if err := render.HTMLPage(w, &rep, diagnose.Ladders(&rep, opts)); err != nil {
				return fmt.Errorf("analyze: writing output: %w", err)
			}
		default:
			t := render.Text{Color: useColour(*colour, w)}
			if err := t.Render(w, &rep); err != nil {
				return fmt.Errorf("analyze: writing output: %w", err)
			}
		}
	}
	for _, f := range finish {
		if err := f(); err != nil && werr == nil {
			werr = err
		}
	}
	if werr != nil {
		return fmt.Errorf("analyze: writing output: %w", werr)
	}
	return errors.Join(errs...)
}

// analyzeFiles analyses files in parallel, one per core, and returns their
// statistics in the order given plus any errors (one line each).
func analyzeFiles(ctx context.Context, files []string, opts diagnose.Options) ([]report.FileStats, []error) {
	stats := make([]report.FileStats, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range files {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			stats[i] = report.FileStats{File: name, Error: "not analysed: interrupted"}
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			stats[i], errs[i] = diagnose.ReadFile(name, opts)
		}()
	}
	wg.Wait()
	return stats, errs
}

func useColour(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(w) && os.Getenv("NO_COLOR") == ""
}

// progress prints one updating line on stderr, only on a terminal and only
// once the work has taken more than a second.
type progress struct {
	w       io.Writer
	on      bool
	start   time.Time
	mu      sync.Mutex
	printed bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, on: isTerminal(w), start: time.Now()}
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
