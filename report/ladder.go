package report

import (
	"sort"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/packet"
)

// Ladder is one reset's connection drawn as Wireshark's flow graph draws
// it: the connection's last packets before the reset, the reset, and the
// look-ahead after it, each between the client and the server.
type Ladder struct {
	File   string `json:"file"`
	Frame  uint64 `json:"frame"` // the reset's frame
	Client string `json:"client"`
	Server string `json:"server"`
	// Earlier counts the connection's packets before the first one kept.
	Earlier int            `json:"earlier"`
	Packets []LadderPacket `json:"packets"`
}

// LadderPacket is one packet of a ladder. Seq and Ack are relative to the
// sending side's initial sequence number (its SYN, or its first packet when
// the SYN was not in view), as Wireshark shows them; Ack is relative to the
// other side's.
type LadderPacket struct {
	Frame      uint64       `json:"frame"`
	Time       time.Time    `json:"time"`
	FromClient bool         `json:"from_client"`
	Flags      packet.Flags `json:"flags"`
	Seq        int64        `json:"seq"`
	Ack        int64        `json:"ack"`
	Len        int          `json:"len"`
	Window     uint16       `json:"win"`
	TTL        uint8        `json:"ttl"`
	IPID       uint16       `json:"ip_id"`
	IPv6       bool         `json:"ipv6,omitempty"`
	// Reset marks the reset the ladder explains; After marks the look-ahead
	// that followed it.
	Reset bool `json:"reset,omitempty"`
	After bool `json:"after,omitempty"`
	// Cited says why the finding points at this packet ("" when it does not).
	Cited string `json:"cited,omitempty"`
}

// ResetRef names one reset: a frame of a file.
type ResetRef struct {
	File  string
	Frame uint64
}

// Span is the time a capture file covers.
type Span struct{ First, Last time.Time }

// Ladders are the ladders of the resets a report shows.
type Ladders struct {
	ByReset map[ResetRef]*Ladder
	// Spans are the first and last packet times of the files read again.
	Spans map[string]Span
	// Notes say why some ladders are missing (standard input cannot be read twice).
	Notes []string
}

// Of returns the ladder of a finding's reset, or nil.
func (l *Ladders) Of(f *Finding) *Ladder {
	if l == nil {
		return nil
	}
	return l.ByReset[ResetRef{f.File, f.Frame}]
}

// How much of a report is shown in detail: a few examples per group, and
// the largest groups first. 40 groups of 3 ladders of 39 packets each made
// a 1.7 MB page for 40,000 resets in 2,252 groups (render/size_test.go),
// 545 kB for the bench capture's 7,002 resets: bounded whatever the
// capture's size, and under the 5 MB the page was allowed.
const (
	ExamplesPerGroup = 3
	DetailedGroups   = 40
)

// Group is the resets that share a cause, a sender and a server: what a
// person acts on.
type Group struct {
	Cause     cause.ID
	Sender    cause.Sender
	Server    string
	Attention int // resets not benign
	First     time.Time
	Last      time.Time
	// Findings indexes every reset of the group in Report.Findings, in the
	// report's order; Examples are the few of them shown in detail.
	Findings []int
	Examples []int
}

// Count is the group's size.
func (g *Group) Count() int { return len(g.Findings) }

// Groups gathers the findings by (cause, sender, server), the groups that
// deserve attention first, then the largest. Examples are the first, the
// middle and the last reset of the group, so a storm shows its start and end.
func (r *Report) Groups() []Group {
	type key struct {
		c cause.ID
		s cause.Sender
		v string
	}
	at := map[key]int{}
	var gs []Group
	for i := range r.Findings {
		f := &r.Findings[i]
		k := key{f.Cause, f.Sender, f.Server}
		j, ok := at[k]
		if !ok {
			j = len(gs)
			at[k] = j
			gs = append(gs, Group{Cause: f.Cause, Sender: f.Sender, Server: f.Server, First: f.Time, Last: f.Time})
		}
		g := &gs[j]
		g.Findings = append(g.Findings, i)
		if !f.Benign {
			g.Attention++
		}
		if f.Time.Before(g.First) {
			g.First = f.Time
		}
		if f.Time.After(g.Last) {
			g.Last = f.Time
		}
	}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := &gs[i], &gs[j]
		if (a.Attention > 0) != (b.Attention > 0) {
			return a.Attention > 0
		}
		if len(a.Findings) != len(b.Findings) {
			return len(a.Findings) > len(b.Findings)
		}
		return a.Findings[0] < b.Findings[0]
	})
	for i := range gs {
		gs[i].Examples = examples(gs[i].Findings, ExamplesPerGroup)
	}
	return gs
}

// examples picks up to n members spread evenly over idx, first and last included.
func examples(idx []int, n int) []int {
	if len(idx) <= n {
		return append([]int(nil), idx...)
	}
	out := make([]int, 0, n)
	for k := 0; k < n; k++ {
		out = append(out, idx[k*(len(idx)-1)/(n-1)])
	}
	return out
}

// Shown lists the resets shown in detail: the examples of the first
// DetailedGroups groups. These are the ones whose ladders are worth drawing.
func (r *Report) Shown(gs []Group) []ResetRef {
	var out []ResetRef
	for i := range gs {
		if i == DetailedGroups {
			break
		}
		for _, j := range gs[i].Examples {
			out = append(out, ResetRef{r.Findings[j].File, r.Findings[j].Frame})
		}
	}
	return out
}

// Timeline is the resets counted per cause in equal slices of time.
type Timeline struct {
	Start time.Time
	Step  time.Duration
	// Causes in stacking order: the most frequent first.
	Causes []cause.ID
	// Counts[i][j] is the resets of Causes[j] in the i-th slice.
	Counts [][]int
}

// steps are the slice widths a timeline may use: round numbers a reader
// can add up.
var steps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
	10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour,
	12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour,
}

// Timeline counts the findings in at most max slices over [start, end]
// (the capture's span; when zero, the findings' own). Findings outside it
// count in the first or last slice.
func (r *Report) Timeline(start, end time.Time, max int) Timeline {
	for i := range r.Findings {
		t := r.Findings[i].Time
		if start.IsZero() || t.Before(start) {
			start = t
		}
		if end.IsZero() || t.After(end) {
			end = t
		}
	}
	span := end.Sub(start)
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s < time.Duration(max) {
			step = s
			break
		}
	}
	tl := Timeline{Start: start.Truncate(step), Step: step}
	n := int(end.Sub(tl.Start)/step) + 1
	col := map[cause.ID]int{}
	for _, c := range r.Summary.ByCause {
		col[cause.ID(c.Key)] = len(tl.Causes)
		tl.Causes = append(tl.Causes, cause.ID(c.Key))
	}
	tl.Counts = make([][]int, n)
	for i := range tl.Counts {
		tl.Counts[i] = make([]int, len(tl.Causes))
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		j, ok := col[f.Cause]
		if !ok {
			continue // Tally was not run
		}
		tl.Counts[tl.Slice(f.Time)][j]++
	}
	return tl
}

// Slice is the index of the slice t falls in, clamped to the timeline.
func (tl *Timeline) Slice(t time.Time) int {
	if tl.Step <= 0 || len(tl.Counts) == 0 {
		return 0
	}
	i := int(t.Sub(tl.Start) / tl.Step)
	return min(max(i, 0), len(tl.Counts)-1)
}
