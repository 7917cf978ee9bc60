package report

import (
	"reflect"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestGroups(t *testing.T) {
	r := &Report{Findings: []Finding{
		{Frame: 1, Time: at(0), Cause: cause.ClosedPort, Sender: cause.Server, Server: "s:1", Benign: true},
		{Frame: 2, Time: at(1), Cause: cause.Injected, Sender: cause.Middlebox, Server: "s:2"},
		{Frame: 3, Time: at(2), Cause: cause.ClosedPort, Sender: cause.Server, Server: "s:1", Benign: true},
		{Frame: 4, Time: at(3), Cause: cause.ClosedPort, Sender: cause.Server, Server: "s:1", Benign: true},
		{Frame: 5, Time: at(4), Cause: cause.ClosedPort, Sender: cause.Server, Server: "s:1", Benign: true},
		{Frame: 6, Time: at(5), Cause: cause.ClosedPort, Sender: cause.Server, Server: "s:9", Benign: true},
		{Frame: 7, Time: at(6), Cause: cause.ClosedPort, Sender: cause.Server, Server: "s:1", Benign: true},
	}}
	gs := r.Groups()
	// Attention first even though smaller; then by size.
	type row struct {
		cause    cause.ID
		server   string
		attn     int
		findings []int
		examples []int
	}
	want := []row{
		{cause.Injected, "s:2", 1, []int{1}, []int{1}},
		{cause.ClosedPort, "s:1", 0, []int{0, 2, 3, 4, 6}, []int{0, 3, 6}}, // first, middle, last
		{cause.ClosedPort, "s:9", 0, []int{5}, []int{5}},
	}
	if len(gs) != len(want) {
		t.Fatalf("got %d groups, want %d: %+v", len(gs), len(want), gs)
	}
	for i, w := range want {
		g := gs[i]
		got := row{g.Cause, g.Server, g.Attention, g.Findings, g.Examples}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("group %d: got %+v, want %+v", i, got, w)
		}
	}
	if !gs[1].First.Equal(at(0)) || !gs[1].Last.Equal(at(6)) {
		t.Errorf("group span %v – %v", gs[1].First, gs[1].Last)
	}
	shown := r.Shown(gs)
	if len(shown) != 5 || shown[0].Frame != 2 || shown[1].Frame != 1 || shown[3].Frame != 7 {
		t.Errorf("shown %+v", shown)
	}
}

func TestTimeline(t *testing.T) {
	r := &Report{Findings: []Finding{
		{Time: at(0.5), Cause: cause.ClosedPort},
		{Time: at(0.7), Cause: cause.Injected},
		{Time: at(0.9), Cause: cause.ClosedPort},
		{Time: at(9.9), Cause: cause.ClosedPort},
	}}
	r.Tally()
	// A 20 s capture in at most 11 slices: 2 s each, 0–2 s … 20–22 s
	// (1 s would need 21).
	tl := r.Timeline(at(0), at(20), 11)
	if tl.Step != 2*time.Second || !tl.Start.Equal(at(0)) {
		t.Fatalf("step %v start %v", tl.Step, tl.Start)
	}
	if len(tl.Counts) != 11 {
		t.Fatalf("got %d slices, want 11 (0 to 20 s inclusive)", len(tl.Counts))
	}
	if !reflect.DeepEqual(tl.Causes, []cause.ID{cause.ClosedPort, cause.Injected}) {
		t.Errorf("causes %v", tl.Causes)
	}
	if !reflect.DeepEqual(tl.Counts[0], []int{2, 1}) || !reflect.DeepEqual(tl.Counts[4], []int{1, 0}) {
		t.Errorf("counts %v", tl.Counts)
	}
	total := 0
	for _, row := range tl.Counts {
		for _, c := range row {
			total += c
		}
	}
	if total != 4 {
		t.Errorf("timeline holds %d resets, want 4", total)
	}
	// Without a span, the resets' own.
	tl = r.Timeline(time.Time{}, time.Time{}, 60)
	if tl.Step != 200*time.Millisecond || tl.Slice(at(9.9)) != len(tl.Counts)-1 {
		t.Errorf("step %v, last reset in slice %d of %d", tl.Step, tl.Slice(at(9.9)), len(tl.Counts))
	}
}
