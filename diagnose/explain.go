package diagnose

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// explain classifies a reset whose look-ahead is over and builds its finding.
func (a *Analyzer) explain(pr *pendingReset) report.Finding {
	ctx := a.pending.context(pr)
	a.close(pr, ctx)
	earlier(ctx, pr.prev)
	pr.prev = nil
	sightings := a.opts.captures.lookup(a.file, pr.frame, ctx)
	f, v := findingOf(a.file, pr.frame, ctx, sightings)
	if pr.verdict != nil {
		pr.verdict.v, pr.verdict.set = cause.Earlier{Frame: pr.frame, Cause: v.Cause, Sender: v.Sender, Confidence: v.Confidence}, true
	}
	note := flow.ResetNote{Frame: pr.frame, Cause: string(v.Cause), Sender: string(v.Sender), Confidence: float32(v.Confidence)}
	if pr.conn != nil {
		pr.conn.LastReset[ctx.Dir] = note
	}
	if pr.ref != (flow.Ref{}) {
		a.table.Explained(pr.ref, note) // notes it while the table holds the connection compactly
	}
	return f
}

// close fills in what the tracker knows of pr as its look-ahead closes.
func (a *Analyzer) close(pr *pendingReset, ctx *cause.Context) {
	ctx.LookAheadDone = pr.lookDone
	if pr.burst != nil {
		ctx.Burst, ctx.BurstOutOfOrder = pr.burst.n, pr.burst.outOfOrder()
	}
}

// earlier sets ctx.Earlier, the verdict on the connection's previous
// reset from the same side: prev's when that one was still pending as
// this one arrived, else the one noted on the connection.
func earlier(ctx *cause.Context, prev *verdictBox) {
	switch note := ctx.Conn.LastReset[ctx.Dir]; {
	case prev != nil && prev.set:
		ctx.Earlier = &prev.v
	case note.Frame != 0:
		e := cause.Earlier{Frame: note.Frame, Cause: cause.ID(note.Cause), Sender: cause.Sender(note.Sender), Confidence: float64(note.Confidence)}
		if b, ok := note.Pending.(*verdictBox); ok {
			// Made on the writer's goroutine (deferred), before this one:
			// as a note keeps it, with its confidence as a float32.
			e = b.v
			e.Confidence = float64(float32(e.Confidence))
		}
		ctx.Earlier = &e
	}
}

// deferred hands pr's verdict to the goroutine that writes the findings
// (findingQueue): everything pr's verdict depends on that may still change
// is settled here, on the tracker's goroutine, and the note the connection
// keeps of it points at its verdict box, which that goroutine fills in
// before it explains any later reset. pr gives up its context.
func (a *Analyzer) deferred(pr *pendingReset) queued {
	ctx := &pr.cx.ctx
	a.close(pr, ctx)
	q := queued{cx: pr.cx, frame: pr.frame, prev: pr.prev, verdict: pr.verdict}
	note := flow.ResetNote{Frame: pr.frame, Pending: pr.verdict}
	if pr.conn != nil {
		pr.conn.LastReset[ctx.Dir] = note
	}
	if pr.ref != (flow.Ref{}) {
		// A record that was built as a Conn (pendingSet.observe): the
		// table frees what it kept for the reset; the note is not read.
		a.table.Explained(pr.ref, note)
	}
	pr.prev, pr.cx = nil, nil
	return q
}

// explainQueued is explain's second half for a deferred reset, on the
// writer's goroutine.
func explainQueued(file string, q *queued) report.Finding {
	ctx := &q.cx.ctx
	earlier(ctx, q.prev)
	f, v := findingOf(file, q.frame, ctx, nil)
	q.verdict.v, q.verdict.set = cause.Earlier{Frame: q.frame, Cause: v.Cause, Sender: v.Sender, Confidence: v.Confidence}, true
	return f
}

// findingOf classifies ctx and builds the finding of the reset at frame.
func findingOf(file string, frame uint64, ctx *cause.Context, sightings []report.Sighting) (report.Finding, cause.Verdict) {
	v := cause.Classify(ctx)
	c := &ctx.Conn
	cd := v.ClientDir
	client, server := c.Ep[cd].Addr, c.Ep[cd.Other()].Addr
	ev := v.Evidence
	if txt := printable(ctx.RST.Payload); txt != "" {
		ev = append(ev, fmt.Sprintf("reset payload: %q", txt))
	}
	cs, ss := client.String(), server.String()
	from := ss
	if ctx.Dir == cd {
		from = cs
	}
	return report.Finding{
		Time:         ctx.Time,
		Frame:        frame,
		File:         file,
		Client:       cs,
		Server:       ss,
		From:         from,
		Sender:       v.Sender,
		Cause:        v.Cause,
		Confidence:   v.Confidence,
		Evidence:     ev,
		Advice:       cause.Lookup(v.Cause).Advice,
		Benign:       v.Benign,
		Filter:       WiresharkFilter(client, server),
		Alternatives: alternativesOf(&v),
		Sightings:    sightings,
		ResetACK:     ackOf(ctx.RST.Flags),
	}, v
}

// ackOf is report.Finding.ResetACK for a reset's flags.
func ackOf(f packet.Flags) int8 {
	if f.Has(packet.ACK) {
		return 1
	}
	return -1
}

// alternativesOf copies the verdict's open alternatives into the report's type.
func alternativesOf(v *cause.Verdict) []report.Alternative {
	if len(v.Alternatives) == 0 {
		return nil
	}
	as := make([]report.Alternative, len(v.Alternatives))
	for i, a := range v.Alternatives {
		as[i] = report.Alternative{Cause: a.Cause, Probability: a.Probability}
	}
	return as
}

// WiresharkFilter is the display filter that isolates one connection.
func WiresharkFilter(a, b netip.AddrPort) string {
	ip := "ip.addr=="
	if a.Addr().Is6() && !a.Addr().Is4In6() {
		ip = "ipv6.addr=="
	}
	buf := make([]byte, 0, 96)
	for i, ap := range [2]netip.AddrPort{a, b} {
		if i > 0 {
			buf = append(buf, " && "...)
		}
		buf = append(buf, ip...)
		buf = ap.Addr().AppendTo(buf)
		buf = append(buf, " && tcp.port=="...)
		buf = strconv.AppendUint(buf, uint64(ap.Port()), 10)
	}
	return string(buf)
}

// printable returns a reset's payload when it is text (some devices explain
// themselves there), or "".
func printable(b []byte) string {
	if len(b) < 4 {
		return ""
	}
	for _, r := range string(b) {
		if r != '\n' && r != '\r' && r != '\t' && !unicode.IsPrint(r) {
			return ""
		}
	}
	return strings.TrimSpace(string(b))
}

// Summarize turns a connection into its conn.log record.
func Summarize(c *flow.Conn, file string) report.ConnSummary {
	o, r := &c.Ep[flow.FromOrig], &c.Ep[flow.FromResp]
	start, last := c.Start(), c.Last()
	s := report.ConnSummary{
		UID:       connUID(file, c),
		File:      file,
		Start:     start,
		OrigH:     o.Addr.Addr().String(),
		OrigP:     o.Addr.Port(),
		RespH:     r.Addr.Addr().String(),
		RespP:     r.Addr.Port(),
		Duration:  last.Sub(start),
		ConnState: c.ConnState(),
		History:   c.History.String(),
		OrigPkts:  o.Packets,
		OrigIP:    o.IPBytes,
		RespPkts:  r.Packets,
		RespIP:    r.IPBytes,
		Resets:    c.Resets,
	}
	s.OrigBytes, s.RespBytes = c.Bytes()
	s.HasDuration = o.Packets+r.Packets > 1
	s.DurationSeconds = s.Duration.Seconds()
	return s
}

// connUID is a short, stable identifier in Zeek's style (C + base62).
func connUID(file string, c *flow.Conn) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(file); i++ {
		h = (h ^ uint64(file[i])) * 1099511628211
	}
	h = (h ^ c.ID) * 1099511628211
	h ^= uint64(c.Start().UnixNano())
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [18]byte
	b[0] = 'C'
	n := 1
	for ; n < len(b) && h > 0; n++ {
		b[n] = digits[h%62]
		h /= 62
	}
	return string(b[:n])
}
