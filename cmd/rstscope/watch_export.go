package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"

	"github.com/rstscope/rstscope/host"
	"github.com/rstscope/rstscope/logpush"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

// exportFlags are watch's log-store outputs: every finding it prints also
// goes to Loki and/or an OTLP collector.
type exportFlags struct {
	lokiURL string
	otlpURL string
	node    string
}

func (e *exportFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&e.lokiURL, "loki-url", "", "also push each printed finding to Loki at `URL` (http://loki:3100; a URL ending in /api/v1/push is used as given), labelled job, node, cause and sender")
	fs.StringVar(&e.otlpURL, "otlp-url", "", "also send each printed finding as an OTLP log record over HTTP to `URL` (http://collector:4318; /v1/logs is added to a bare host)")
	fs.StringVar(&e.node, "node", "", "the node `NAME` on pushed logs (default: the host name; in Kubernetes give spec.nodeName)")
}

// sinks are the running log pushers.
type sinks []sink

type sink struct {
	name string
	q    *logpush.Queue
	done func(context.Context) error
}

// start opens the pushers the flags ask for and exports their totals as
// metrics (when metrics is not nil). Failures and recoveries are said on
// stderr, one line per change.
func (e *exportFlags) start(metrics *render.Metrics, stderr io.Writer) (sinks, error) {
	if e.lokiURL == "" && e.otlpURL == "" {
		return nil, nil
	}
	node := e.node
	if node == "" {
		node, _ = os.Hostname()
	}
	var s sinks
	open := func(name string, snd logpush.Sender, done func(context.Context) error) {
		q := logpush.New(snd, logpush.Options{OnState: func(err error) {
			if err != nil {
				fmt.Fprintf(stderr, "rstscope: %s: %v; findings are dropped (rstscope_log_records_dropped_total) until it works\n", name, err)
			} else {
				fmt.Fprintf(stderr, "rstscope: %s: pushing again\n", name)
			}
		}})
		if metrics != nil {
			metrics.AddSink(name, func() render.SinkStats {
				st := q.Stats()
				return render.SinkStats{Sent: st.Sent, Dropped: st.Dropped, Failures: st.Failures}
			})
		}
		s = append(s, sink{name, q, done})
	}
	if e.lokiURL != "" {
		open("loki", &logpush.Loki{URL: logpush.LokiURL(e.lokiURL), Node: node}, nil)
	}
	if e.otlpURL != "" {
		o, err := logpush.NewOTLP(e.otlpURL, node)
		if err != nil {
			return nil, fmt.Errorf("--otlp-url: %w", err)
		}
		open("otlp", o, o.Close)
	}
	return s, nil
}

// push queues f on every sink, encoded once and only if some sink has
// room; it never blocks.
func (s sinks) push(f *report.Finding) {
	var e logpush.Entry
	for _, k := range s {
		if !k.q.Admit() {
			continue
		}
		if e.Line == nil {
			e = logpush.NewEntry(f)
		}
		k.q.PushEntry(e)
	}
}

// close sends what waits, for at most 2s (a dead store must not hold up
// the exit), and says what never got there.
func (s sinks) close(stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, k := range s {
		k.q.Close(ctx)
		if k.done != nil {
			k.done(ctx)
		}
		if st := k.q.Stats(); st.Dropped > 0 {
			fmt.Fprintf(stderr, "rstscope: %s: %d findings pushed, %d dropped\n", k.name, st.Sent, st.Dropped)
		}
	}
}

// labelMetrics gives the reset counter its namespace names and exports the
// build: names from /run/netns, and the namespaces --netns chose.
func labelMetrics(m *render.Metrics, chosen netnsList) {
	names := &host.NetNSNames{}
	m.NetNSName = names.Name
	for _, ino := range chosen {
		m.Chosen = append(m.Chosen, uint64(ino))
	}
	bi, _ := debug.ReadBuildInfo()
	rev := "unknown"
	if bi != nil {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	m.SetBuild(moduleVersion(bi), rev, runtime.Version())
}
