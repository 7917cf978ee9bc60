package truth

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/rstscope/rstscope/cause"
)

// Summary holds the headline figures, for tests and the report.
type Summary struct {
	Connections       int            // scenarios logged
	ConnsWithReset    int            // connections with at least one RST on the wire
	ConnsScored       int            // … whose first RST a kernel sent, with a verdict to compare
	ConnsRight        int            // … where analyze's first finding names an allowed cause
	Resets            int            // RST packets on the wire
	KernelResets      int            // … matched to a tcp_send_reset event
	RouterResets      int            // … sent by the router (scenario idle-router, no kernel event)
	SenderKnown       int            // resets whose true sender is known (kernel's and router's)
	ResetsScored      int            // … with an allowed set and a finding
	ResetsRight       int            //
	SenderRight       int            // resets of a known sender whose finding names it
	SendEvents        int            // tcp_send_reset events of the run
	EventsMatched     int            // … matched to a RST on the wire
	KindConns         map[string]int // connections per scenario kind
	WithoutScenario   int            // RSTs whose 4-tuple no scenario has
	WithoutKernel     int            // RSTs of a scenario with no kernel event
	WithoutFinding    int            // RSTs analyze wrote no finding for
	PerConnShareRight float64
	PerResetRight     float64
	SenderShareRight  float64
	EventMatchShare   float64
}

// Summarize computes the headline figures.
func (res *Result) Summarize() Summary {
	s := Summary{Connections: len(res.Scenarios), SendEvents: res.SendEvents, KindConns: map[string]int{}}
	for _, sc := range res.Scenarios {
		s.KindConns[sc.Kind]++
	}
	seen := map[int]bool{}
	for i := range res.Resets {
		r := &res.Resets[i]
		s.Resets++
		if r.Conn >= 0 && !seen[r.Conn] {
			seen[r.Conn] = true
			s.ConnsWithReset++
		}
		if !r.HasFinding {
			s.WithoutFinding++
		}
		switch {
		case r.Conn < 0:
			s.WithoutScenario++
		case r.Device == "":
			s.WithoutKernel++
		}
		if r.Device == "" {
			continue
		}
		if r.Kernel != nil {
			s.KernelResets++
		} else {
			s.RouterResets++
		}
		s.SenderKnown++
		if r.HasFinding && string(r.Finding.Sender) == r.TrueSender {
			s.SenderRight++
		}
		if r.Scored() {
			s.ResetsScored++
			if r.Right() {
				s.ResetsRight++
			}
			if r.First {
				s.ConnsScored++
				if r.Right() {
					s.ConnsRight++
				}
			}
		}
	}
	s.EventsMatched = s.KernelResets
	s.PerConnShareRight = share(s.ConnsRight, s.ConnsScored)
	s.PerResetRight = share(s.ResetsRight, s.ResetsScored)
	s.SenderShareRight = share(s.SenderRight, s.SenderKnown)
	s.EventMatchShare = share(s.EventsMatched, s.SendEvents)
	return s
}

func share(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func pct(a, b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

// CauseStat is one cause's precision and recall over the connections'
// first kernel-sent resets. Recall counts a connection under its row's
// first allowed cause (the one the scenario was made to show).
type CauseStat struct {
	Cause                 cause.ID
	Named, NamedRight     int // findings naming it, and right
	Present, PresentRight int // connections whose first allowed cause it is, and found right
}

// CauseStats returns per-cause precision and recall, by cause name.
func (res *Result) CauseStats() []CauseStat {
	m := map[cause.ID]*CauseStat{}
	get := func(id cause.ID) *CauseStat {
		if m[id] == nil {
			m[id] = &CauseStat{Cause: id}
		}
		return m[id]
	}
	for i := range res.Resets {
		r := &res.Resets[i]
		if !r.First || !r.Scored() {
			continue
		}
		n := get(r.Finding.Cause)
		n.Named++
		p := get(r.Truth.Allowed[0])
		p.Present++
		if r.Right() {
			n.NamedRight++
			p.PresentRight++
		}
	}
	out := make([]CauseStat, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Cause < out[b].Cause })
	return out
}

// CalibrationBin is one confidence bin of 0.1 over every scored reset.
type CalibrationBin struct {
	Lo              float64
	Findings, Right int
	SumConfidence   float64
}

// Calibration returns the ten bins [0,0.1) … [0.9,1.0].
func (res *Result) Calibration() []CalibrationBin {
	bins := make([]CalibrationBin, 10)
	for i := range bins {
		bins[i].Lo = float64(i) / 10
	}
	for i := range res.Resets {
		r := &res.Resets[i]
		if !r.Scored() {
			continue
		}
		b := int(math.Floor(r.Finding.Confidence*10 + 1e-9))
		b = max(0, min(b, 9))
		bins[b].Findings++
		bins[b].SumConfidence += r.Finding.Confidence
		if r.Right() {
			bins[b].Right++
		}
	}
	return bins
}

// Doubt measures whether the alternatives a finding states are honest,
// over the connections' first scored resets: a wrong verdict that names the
// kernel's cause among its alternatives sent the reader to the right place
// second, and the Brier score (mean of (1 − p)² + Σ others' p², where p is
// the probability the finding gave causes the kernel allows) rewards
// probabilities that say how sure the evidence is — 0 is perfect, a
// verdict always stated at 1.0 scores 1 on every miss.
type Doubt struct {
	Scored       int     // connections' first scored resets
	Wrong        int     // … whose verdict the kernel does not allow
	WrongNamed   int     // … whose alternatives name an allowed cause
	Brier        float64 // mean Brier score of the stated distribution
	BrierVerdict float64 // the same with the verdict alone at its confidence
	MeanTrueProb float64 // mean probability given to an allowed cause
}

// Doubt computes the figures above.
func (res *Result) Doubt() Doubt {
	var d Doubt
	for i := range res.Resets {
		r := &res.Resets[i]
		if !r.First || !r.Scored() {
			continue
		}
		d.Scored++
		f := &r.Finding
		// The stated distribution: the verdict at its confidence and each
		// alternative at its probability; what is left is unstated mass,
		// counted as given to no cause.
		pTrue, sumSq := 0.0, 0.0
		add := func(id cause.ID, p float64) {
			if r.Truth.Allows(id) {
				pTrue += p
			} else {
				sumSq += p * p
			}
		}
		add(f.Cause, f.Confidence)
		named := false
		for _, a := range f.Alternatives {
			add(a.Cause, a.Probability)
			named = named || r.Truth.Allows(a.Cause)
		}
		d.Brier += (1-pTrue)*(1-pTrue) + sumSq
		d.MeanTrueProb += pTrue
		if r.Right() {
			d.BrierVerdict += (1 - f.Confidence) * (1 - f.Confidence)
		} else {
			d.Wrong++
			d.BrierVerdict += 1 + f.Confidence*f.Confidence
			if named {
				d.WrongNamed++
			}
		}
	}
	if d.Scored > 0 {
		n := float64(d.Scored)
		d.Brier /= n
		d.BrierVerdict /= n
		d.MeanTrueProb /= n
	}
	return d
}

// WriteReport prints the scorer's figures.
func (res *Result) WriteReport(w io.Writer) error {
	s := res.Summarize()
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("truth run: %s\n", res.Dir)
	p("connections: %d logged, %d with a RST on the wire, %d scored (first RST sent by a kernel, with a verdict for its reason, or by the router)\n",
		s.Connections, s.ConnsWithReset, s.ConnsScored)
	p("resets on the wire: %d; sent by a kernel (matched to tcp_send_reset): %d; by the router (idle-router, no kernel event): %d; without a scenario: %d; of a scenario but no kernel event: %d; without a finding: %d\n",
		s.Resets, s.KernelResets, s.RouterResets, s.WithoutScenario, s.WithoutKernel, s.WithoutFinding)
	p("kernel events: %d tcp_send_reset, %d matched to a RST on the wire (%s)\n", s.SendEvents, s.EventsMatched, pct(s.EventsMatched, s.SendEvents))
	p50, p99, mx, mn := res.MatchDelays()
	p("  wire time − event time: median %v, 99th percentile %v, range %v to %v\n", p50, p99, mn, mx)
	keys := sortedKeys(res.Unmatched)
	for _, k := range keys {
		p("  unmatched: %d %s\n", res.Unmatched[k], k)
	}
	p("\ncause right, per connection (first reset): %d of %d = %s\n", s.ConnsRight, s.ConnsScored, pct(s.ConnsRight, s.ConnsScored))
	p("cause right, per reset:                     %d of %d = %s\n", s.ResetsRight, s.ResetsScored, pct(s.ResetsRight, s.ResetsScored))
	p("sender right (kernel's and router's resets): %d of %d = %s\n", s.SenderRight, s.SenderKnown, pct(s.SenderRight, s.SenderKnown))

	p("\nper cause, connections' first scored resets (precision: findings naming it that are right; recall: connections whose verdict it is, found):\n")
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "cause\tnamed\tprecision\tpresent\trecall\t")
	for _, c := range res.CauseStats() {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t\n", c.Cause, c.Named, pct(c.NamedRight, c.Named), c.Present, pct(c.PresentRight, c.Present))
	}
	tw.Flush()

	p("\nconfusion, every reset of a known sender (kernel row [answered segment, scenario where it decides] -> analyze's cause: count; * = allowed):\n")
	type cell struct {
		row string
		c   cause.ID
	}
	cells := map[cell]int{}
	rows := map[string]int{}
	rowTruth := map[string]Truth{}
	for i := range res.Resets {
		r := &res.Resets[i]
		if r.Device == "" || !r.HasFinding {
			continue
		}
		row := r.Truth.Row
		if r.Kernel != nil {
			row += " state=" + r.Kernel.State
		}
		rows[row]++
		rowTruth[row] = r.Truth
		cells[cell{row, r.Finding.Cause}]++
	}
	for _, row := range sortedKeys(rows) {
		var parts []string
		for c, n := range cells {
			if c.row == row {
				mark := ""
				if rowTruth[row].Allows(c.c) {
					mark = "*"
				}
				parts = append(parts, fmt.Sprintf("%s%s %d", c.c, mark, n))
			}
		}
		sort.Slice(parts, func(a, b int) bool { return lastInt(parts[a]) > lastInt(parts[b]) })
		p("  %-55s %6d  allowed %-40s -> %s\n", row, rows[row], joinIDs(rowTruth[row].Allowed), strings.Join(parts, ", "))
	}

	p("\ncalibration, every scored reset (confidence bin: findings, share right, mean confidence; issue 9 asks every bin of ≥ 100 findings to be within ±0.1 of its share right):\n")
	for _, b := range res.Calibration() {
		if b.Findings == 0 {
			continue
		}
		mean := b.SumConfidence / float64(b.Findings)
		verdict := "too few to judge"
		if b.Findings >= 100 {
			verdict = "calibrated"
			if d := float64(b.Right)/float64(b.Findings) - mean; d > 0.1 || d < -0.1 {
				verdict = fmt.Sprintf("OFF by %+.2f", d)
			}
		}
		p("  [%.1f,%.1f)  %7d  %6s  mean %.2f  %s\n", b.Lo, b.Lo+0.1, b.Findings, pct(b.Right, b.Findings), mean, verdict)
	}

	d := res.Doubt()
	p("\nhonest doubt, connections' first scored resets: %d wrong verdicts, %d (%s) of them name the kernel's cause among their alternatives; probability given to the kernel's cause, mean %.3f; Brier score %.3f (verdict alone at its confidence: %.3f; 0 is perfect)\n",
		d.Wrong, d.WrongNamed, pct(d.WrongNamed, d.Wrong), d.MeanTrueProb, d.Brier, d.BrierVerdict)

	p("\nper scenario kind (connections, with a RST, first RST scored, right):\n")
	type kstat struct{ conns, withRST, scored, right int }
	ks := map[string]*kstat{}
	for k, n := range s.KindConns {
		ks[k] = &kstat{conns: n}
	}
	for i := range res.Resets {
		r := &res.Resets[i]
		if !r.First || r.Scenario == nil {
			continue
		}
		k := ks[r.Scenario.Kind]
		k.withRST++
		if r.Scored() {
			k.scored++
			if r.Right() {
				k.right++
			}
		}
	}
	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "kind\tconns\twith RST\tscored\tright\t")
	for _, k := range sortedKeys(s.KindConns) {
		x := ks[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", k, x.conns, x.withRST, x.scored, pct(x.right, x.scored))
	}
	tw.Flush()
	return bw.Flush()
}

func lastInt(s string) int {
	var n int
	fmt.Sscanf(s[strings.LastIndexByte(s, ' ')+1:], "%d", &n)
	return n
}

func joinIDs(ids []cause.ID) string {
	if len(ids) == 0 {
		return "(none: not scored)"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// TSVHeader is the per-reset TSV's header.
const TSVHeader = "time\tframe\tclient\tserver\tdirection\tkind\tkernel_reason\tstate\tanswered\ttruth_row\tallowed\tright\tfirst\tcause\tsender\ttrue_sender\tconfidence\tevidence"

// WriteTSV writes one line per RST on the wire, for study: who, the
// scenario, the kernel's reason and state, what it answered, the allowed
// causes, whether analyze was right, and analyze's cause, sender,
// confidence and evidence (joined by " | ").
func (res *Result) WriteTSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	fmt.Fprintln(bw, TSVHeader)
	for i := range res.Resets {
		r := &res.Resets[i]
		client, server, dir, kind := r.Wire.Src.String(), r.Wire.Dst.String(), "?", "-"
		if r.Scenario != nil {
			client, server, kind = r.Scenario.Client.String(), r.Scenario.Server.String(), r.Scenario.Kind
			dir = r.TrueSender + "->"
			if r.TrueSender == "client" {
				dir += "server"
			} else {
				dir += "client"
			}
		}
		reason, state := "-", "-"
		if r.Kernel != nil {
			reason, state = r.Kernel.Reason, r.Kernel.State
		} else if r.Device != "" {
			reason = "(" + r.Device + ")"
		}
		right := "-"
		if r.Scored() {
			right = fmt.Sprint(r.Right())
		}
		c, sender, conf, ev := "-", "-", "-", "-"
		if r.HasFinding {
			c, sender, conf = string(r.Finding.Cause), string(r.Finding.Sender), fmt.Sprintf("%.2f", r.Finding.Confidence)
			ev = strings.ReplaceAll(strings.Join(r.Finding.Evidence, " | "), "\t", " ")
		}
		fmt.Fprintf(bw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\n",
			r.Wire.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), r.Wire.Frame, client, server, dir, kind,
			reason, state, r.Wire.Answered, r.Truth.Row, joinIDs(r.Truth.Allowed), right, r.First,
			c, sender, orDash(r.TrueSender), conf, ev)
	}
	return bw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
