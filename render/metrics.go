package render

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rstscope/rstscope/report"
)

// Metrics exposes findings as Prometheus metrics. Every metric rstscope
// serves is documented here and in docs/watch.md:
//
//	rstscope_resets_total{cause,sender,direction,reason}  counter: findings by cause
//	rstscope_events_lost_total{source}              counter: events dropped before analysis
//	                                                 (source="kernel": eBPF ring buffer full)
//	rstscope_watch_info{foreign,reasons}            gauge 1: how this host is watched
//
// Label values are the cause IDs and senders of package cause, the
// directions "sent" and "received", and the kernel's reason names
// (enum sk_rst_reason, "none" without one); every one is a closed list, so
// cardinality is bounded (19 causes x 4 senders x 2 directions x about 20
// reasons at most, far fewer in practice: a reason implies its cause). No
// address, port or namespace is a label.
type Metrics struct {
	resets *prometheus.CounterVec
	info   *prometheus.GaugeVec
	lost   map[string]*atomic.Uint64
}

// NewMetrics registers the metrics with reg. lostSources names each source of
// lost events ("kernel", "capture") whose total SetLost will report.
func NewMetrics(reg prometheus.Registerer, lostSources ...string) *Metrics {
	m := &Metrics{
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rstscope_resets_total",
			Help: "TCP resets seen, by cause, sender, direction (sent or received by this host) and the kernel's reason.",
		}, []string{"cause", "sender", "direction", "reason"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rstscope_watch_info",
			Help: "How this host is watched: foreign is the hook that finds RSTs the TCP stack did not send, reasons where reset reason names came from.",
		}, []string{"foreign", "reasons"}),
		lost: make(map[string]*atomic.Uint64),
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
	m.resets.WithLabelValues(string(f.Cause), string(f.Sender), dir, reason).Inc()
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
