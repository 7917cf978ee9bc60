package render

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rstscope/rstscope/report"
)

// Metrics exposes findings as Prometheus metrics. Every metric rstscope
// serves is documented here and in docs/watch.md:
//
//	rstscope_resets_total{cause,sender,direction,reason,netns}  counter: findings by cause
//	rstscope_events_lost_total{source}               counter: events dropped before analysis
//	                                                  (source="kernel": eBPF ring buffer full;
//	                                                  "capture": packets the -i socket dropped)
//	rstscope_log_records_sent_total{sink}            counter: findings a log store accepted
//	rstscope_log_records_dropped_total{sink}         counter: findings never delivered to it
//	rstscope_log_push_failures_total{sink}           counter: failed requests, each try
//	rstscope_watch_info{foreign,reasons}             gauge 1: how this host is watched
//	rstscope_build_info{version,revision,goversion}  gauge 1: the binary
//
// Label values are the cause IDs and senders of package cause, the
// directions "sent" and "received", the kernel's reason names (enum
// sk_rst_reason, "none" without one), and a network namespace's name: the
// name `ip netns add` gave it, "host" for the host's own, "ns-INODE" for a
// namespace --netns chose that has no name, and "other" for the rest and
// for every name past MaxNetNSLabels. Every one is a closed or capped list,
// so cardinality is bounded (19 causes x 4 senders x 2 directions x about 20
// reasons x 66 namespaces at most; far fewer in practice: a reason implies
// its cause). No address or port is a label. The sink is "loki" or "otlp".
type Metrics struct {
	resets *prometheus.CounterVec
	info   *prometheus.GaugeVec
	reg    prometheus.Registerer
	lost   map[string]*atomic.Uint64

	// NetNSName names a namespace by inode ("" when it has none); nil
	// labels every finding netns="host".
	NetNSName func(ino uint64) string
	// Chosen are the inodes --netns named: one without a name is labelled
	// by its inode, a bounded list the user chose.
	Chosen []uint64

	mu       sync.Mutex
	nsLabels map[uint64]string
	named    int
}

// MaxNetNSLabels caps the distinct namespace names used as label values: a
// node churning pods (each a named namespace, cni-UUID under containerd)
// would otherwise add series for ever. Kubernetes' default limit is 110
// pods per node, so 128 names cover a node's live pods; what comes after is
// "other".
const MaxNetNSLabels = 128

// NewMetrics registers the metrics with reg. lostSources names each source of
// lost events ("kernel", "capture") whose total SetLost will report.
func NewMetrics(reg prometheus.Registerer, lostSources ...string) *Metrics {
	m := &Metrics{
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rstscope_resets_total",
			Help: "TCP resets seen, by cause, sender, direction (sent or received by this host), the kernel's reason and the network namespace.",
		}, []string{"cause", "sender", "direction", "reason", "netns"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rstscope_watch_info",
			Help: "How this host is watched: foreign is the hook that finds RSTs the TCP stack did not send, reasons where reset reason names came from.",
		}, []string{"foreign", "reasons"}),
		reg:      reg,
		lost:     make(map[string]*atomic.Uint64),
		nsLabels: make(map[uint64]string),
	}
	reg.MustRegister(m.resets, m.info)
	for _, src := range lostSources {
		v := new(atomic.Uint64)
		m.lost[src] = v
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "rstscope_events_lost_total",
			Help:        "Events dropped before analysis (kernel: eBPF ring buffer full; capture: packets the socket dropped).",
			ConstLabels: prometheus.Labels{"source": src},
		}, func() float64 { return float64(v.Load()) }))
	}
	return m
}

// Observe counts one finding.
func (m *Metrics) Observe(f *report.Finding) {
	dir := f.Direction
	if dir == "" {
		dir = "unknown"
	}
	reason := f.KernelReason
	if reason == "" {
		reason = "none"
	}
	m.resets.WithLabelValues(string(f.Cause), string(f.Sender), dir, reason, m.netns(f.NetNS)).Inc()
}

// netns returns the label for a namespace inode, remembering it: the name
// of a namespace cannot change while it lives, and an inode is reused only
// after it is gone.
func (m *Metrics) netns(ino uint64) string {
	if m.NetNSName == nil || ino == 0 {
		return "host"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.nsLabels[ino]; ok {
		return l
	}
	l := m.NetNSName(ino)
	switch {
	case l == "host":
	case l != "" && m.named < MaxNetNSLabels:
		m.named++
	case l == "" && m.chosen(ino):
		l = "ns-" + strconv.FormatUint(ino, 10)
	default:
		l = "other"
	}
	if l != "other" || len(m.nsLabels) < 4*MaxNetNSLabels {
		// "other" answers are remembered too, up to a bound, so an
		// unnamed namespace's flood costs a map lookup, not a rescan.
		m.nsLabels[ino] = l
	}
	return l
}

func (m *Metrics) chosen(ino uint64) bool {
	for _, c := range m.Chosen {
		if c == ino {
			return true
		}
	}
	return false
}

// SetLost records the running total of lost events from source, which must
// have been named to NewMetrics.
func (m *Metrics) SetLost(source string, total uint64) {
	if v, ok := m.lost[source]; ok {
		v.Store(total)
	}
}

// SetInfo records how the host is watched.
func (m *Metrics) SetInfo(foreign, reasons string) {
	m.info.Reset()
	m.info.WithLabelValues(foreign, reasons).Set(1)
}

// SetBuild exports rstscope_build_info: the module version, VCS revision
// and Go toolchain of the running binary.
func (m *Metrics) SetBuild(version, revision, goVersion string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "rstscope_build_info",
		Help:        "The running rstscope binary: module version, VCS revision and Go toolchain (value 1).",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	m.reg.MustRegister(g)
}

// SinkStats are a log sink's running totals, in findings (logpush.Stats).
type SinkStats struct{ Sent, Dropped, Failures uint64 }

// AddSink exports a log sink's totals, read at each scrape from stats.
func (m *Metrics) AddSink(sink string, stats func() SinkStats) {
	labels := prometheus.Labels{"sink": sink}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rstscope_log_records_sent_total", ConstLabels: labels,
			Help: "Findings a log store (sink: loki, otlp) accepted.",
		}, func() float64 { return float64(stats().Sent) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rstscope_log_records_dropped_total", ConstLabels: labels,
			Help: "Findings never delivered to a log store: its queue was full, its tries were used up, or watch stopped first.",
		}, func() float64 { return float64(stats().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rstscope_log_push_failures_total", ConstLabels: labels,
			Help: "Requests to a log store that failed, each try counted.",
		}, func() float64 { return float64(stats().Failures) }),
	)
}
