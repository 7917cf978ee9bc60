package render

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// resetLabels gathers rstscope_resets_total from reg: netns label -> count.
func resetLabels(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "rstscope_resets_total" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "netns" {
					got[l.GetValue()] += m.Counter.GetValue()
				}
			}
		}
	}
	return got
}

// TestMetricsNetNSLabel: names from the namer, "host", the inode of a
// namespace --netns chose, "other" for an unnamed one nobody chose, and no
// more than MaxNetNSLabels names however many namespaces come and go.
func TestMetricsNetNSLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	calls := 0
	m.NetNSName = func(ino uint64) string {
		calls++
		switch {
		case ino == 1:
			return "host"
		case ino == 2:
			return "blue"
		case ino >= 1000:
			return fmt.Sprintf("cni-%d", ino)
		}
		return ""
	}
	m.Chosen = []uint64{7}
	obs := func(ino uint64) {
		m.Observe(&report.Finding{Cause: cause.ClosedPort, Sender: cause.Server, Direction: "sent", NetNS: ino})
	}
	for _, ino := range []uint64{0, 1, 2, 2, 7, 8, 9} {
		obs(ino)
	}
	got := resetLabels(t, reg)
	want := map[string]float64{"host": 2, "blue": 2, "ns-7": 1, "other": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("by netns %v, want %v", got, want)
	}
	if calls != 5 {
		t.Errorf("namer called %d times, want 5 (once per inode)", calls)
	}
	// Pod churn: 500 named namespaces; only MaxNetNSLabels become labels.
	for ino := uint64(1000); ino < 1500; ino++ {
		obs(ino)
	}
	got = resetLabels(t, reg)
	named := 0
	for l := range got {
		if len(l) > 4 && l[:4] == "cni-" {
			named++
		}
	}
	if named != MaxNetNSLabels-1 { // "blue" took one
		t.Errorf("%d cni- labels, want %d", named, MaxNetNSLabels-1)
	}
	if got["other"] != 2+float64(500-(MaxNetNSLabels-1)) {
		t.Errorf("other = %v, want %d", got["other"], 2+500-(MaxNetNSLabels-1))
	}
}
