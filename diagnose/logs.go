package diagnose

import (
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rstscope/rstscope/applog"
	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// LogOptions configure joining application log lines to resets.
type LogOptions struct {
	// Window is how far from a reset a line may be: ±2 s by default, the
	// slack between a program noticing a reset and writing its line (nginx
	// and haproxy log at the end of a request, within milliseconds; a Go
	// server's error goes through its logger's buffering) plus
	// second-resolution timestamps.
	Window time.Duration
	// Offset is the logs' clock minus the capture's; AutoOffset estimates
	// it from lines that name a reset's client address and port.
	Offset     time.Duration
	AutoOffset bool
	// MaxSkew bounds the estimated offset (the window searched for it).
	MaxSkew time.Duration
	// MaxLines is how many lines a finding keeps, best first.
	MaxLines int
	Time     applog.TimeOptions
}

// DefaultLogOptions are analyze's defaults.
var DefaultLogOptions = LogOptions{Window: 2 * time.Second, AutoOffset: true, MaxSkew: 2 * time.Minute, MaxLines: 3}

// LogJoiner attaches log lines to findings. The logs are indexed on their
// own goroutine from OpenLogs on, while the captures are read; every method
// waits for the index.
type LogJoiner struct {
	opts  LogOptions
	ready chan struct{}
	set   *applog.Set
	err   error

	mu       sync.Mutex
	offset   time.Duration
	estimate string

	// memo keeps each line's signatures while its block is likely cached:
	// neighbouring resets look at the same lines, and matching every
	// signature against every line near every reset was 40 % of joining a
	// 1 GB log to the bench capture.
	memoMu sync.Mutex
	memo   map[lineKey][]*cause.Signature
}

// lineKey names a line without pointing into the index's cached blocks
// (a pointer key would keep evicted blocks alive).
type lineKey struct {
	file string
	num  int
}

// memoMax bounds the memo: about the lines of the Set's cached blocks
// (32 × 64 KiB of ~120-byte lines).
const memoMax = 1 << 15

func (j *LogJoiner) signatures(l *applog.Line) []*cause.Signature {
	j.memoMu.Lock()
	defer j.memoMu.Unlock()
	k := lineKey{l.File, l.Num}
	if sigs, ok := j.memo[k]; ok {
		return sigs
	}
	if j.memo == nil || len(j.memo) >= memoMax {
		j.memo = make(map[lineKey][]*cause.Signature, memoMax)
	}
	sigs := cause.MatchLog(cause.LogFacts{Text: l.Text, HAProxyState: l.HAProxyState, EnvoyFlags: l.EnvoyFlags})
	j.memo[k] = sigs
	return sigs
}

// OpenLogs starts indexing the log files and directories in paths.
func OpenLogs(paths []string, o LogOptions) *LogJoiner {
	if o.Window <= 0 {
		o.Window = DefaultLogOptions.Window
	}
	if o.MaxLines <= 0 {
		o.MaxLines = DefaultLogOptions.MaxLines
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = DefaultLogOptions.MaxSkew
	}
	j := &LogJoiner{opts: o, ready: make(chan struct{}), offset: o.Offset}
	go func() {
		defer close(j.ready)
		j.set, j.err = applog.Open(paths, applog.Options{Time: o.Time})
	}()
	return j
}

// NewLogJoiner joins lines from an already indexed set (watch, tests).
func NewLogJoiner(set *applog.Set, o LogOptions) *LogJoiner {
	j := OpenLogs(nil, o)
	<-j.ready
	j.set, j.err = set, nil
	return j
}

// Err waits for the index and returns the error that stopped it, if any:
// one line naming the file.
func (j *LogJoiner) Err() error {
	<-j.ready
	return j.err
}

// Stats describes what was read, once indexed.
func (j *LogJoiner) Stats() applog.Stats {
	if j.Err() != nil {
		return applog.Stats{}
	}
	return j.set.Stats()
}

// Close removes the index's temporary files.
func (j *LogJoiner) Close() error {
	if j.Err() != nil {
		return nil
	}
	return j.set.Close()
}

// Offset returns the clock offset in use and how it was found.
func (j *LogJoiner) Offset() (time.Duration, string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.offset, j.estimate
}

// JoinAll estimates the clock offset when asked to and attaches lines to
// every finding (the report paths, which hold all findings before output).
func (j *LogJoiner) JoinAll(fs []report.Finding) error {
	if err := j.Err(); err != nil {
		return err
	}
	if j.opts.AutoOffset {
		if d, n, ok := j.estimateOffset(fs); ok {
			j.mu.Lock()
			j.offset = j.opts.Offset + d
			j.estimate = "estimated from " + itoa(n) + " lines naming a reset's client address and port"
			j.mu.Unlock()
		}
	}
	// In time order, batches of neighbouring resets share their lines.
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return fs[order[a]].Time.Before(fs[order[b]].Time) })
	return j.joinBatches(fs, order)
}

// candidate is a line being considered for a finding. l points into the
// index's cache, whose lines are never changed: copying each (~180 bytes)
// for every line judged was a sixth of the joins' allocations.
type candidate struct {
	l    *applog.Line
	rank int // what of the connection it names; see matchRank
	sigs []*cause.Signature
	dt   time.Duration
}

// Ranks of a line for a connection, best last; matchedBy names them.
// A server's address and port is shared by every connection to it, so a
// line naming only that ranks below a proxy's session join (which needs
// the proxy's own millisecond timing and the reset's sender to fit).
const (
	rankTime = iota
	rankAddress
	rankServer
	rankSession
	rankClient
	rankConn
)

var matchedBy = [...]string{"time", "time+address", "time+server", "time+session", "time+client", "time+connection"}

// sessionSlack is how near a proxy's session end must be to a reset on a
// connection the line does not name for the two to be joined: haproxy's
// date plus its last timer fell within 1 ms of the reset it sent its
// server in the lab (06:06:53.685 logged, 06:06:53.685906 on the wire;
// 06:07:24.576 and .576454); 50 ms leaves room for a loaded host's event
// loop while an nginx reset 63 ms away in the same lab stays apart.
const sessionSlack = 50 * time.Millisecond

// Attach joins the best lines around f's time to it and lets their
// signatures refine its verdict (cause.ApplyLogs decides; this only
// gathers).
func (j *LogJoiner) Attach(f *report.Finding) error {
	if err := j.Err(); err != nil {
		return err
	}
	off, _ := j.Offset()
	client, _ := netip.ParseAddrPort(f.Client)
	server, _ := netip.ParseAddrPort(f.Server)
	at := f.Time.Add(off)
	var best []candidate
	addrs := []netip.Addr{client.Addr(), server.Addr()}
	err := j.set.Near(at.Add(-j.opts.Window), at.Add(j.opts.Window), addrs, func(l *applog.Line) {
		rank, ok := matchRank(l, client, server)
		dt := absDur(l.Time.Sub(at))
		if ok && len(best) >= j.opts.MaxLines {
			// A line that cannot displace the worst kept one, whatever its
			// signatures, is dropped before they are looked up: with every
			// line of a 1 GB access log naming the bench client, matching
			// signatures for all ~10 k lines in each reset's window was
			// most of the joins' time.
			w := &best[len(best)-1]
			if rank < w.rank || rank == w.rank && len(w.sigs) > 0 && dt >= w.dt {
				return
			}
		}
		var sigs []*cause.Signature
		switch {
		case ok:
			sigs = j.signatures(l)
		case l.HAProxyState != "" && dt <= sessionSlack:
			sigs = cause.MatchLog(cause.LogFacts{HAProxyState: l.HAProxyState})
		}
		if !ok {
			// A proxy's line about another client may still be about this
			// connection: the server side of that client's session.
			if !sessionSide(sigs, f) || dt > sessionSlack {
				return
			}
			rank = rankSession
		}
		if rank == rankTime && len(sigs) == 0 {
			return // a line that names nothing and says nothing about resets
		}
		c := candidate{l: l, rank: rank, sigs: sigs, dt: dt}
		best = insertBest(best, c, j.opts.MaxLines)
	})
	if err != nil {
		return err
	}
	j.apply(f, best)
	return nil
}

// apply attaches the chosen lines to f and lets their signatures refine
// its verdict.
func (j *LogJoiner) apply(f *report.Finding, best []candidate) {
	if len(best) == 0 {
		return
	}
	var ms []cause.LogMatch
	for _, c := range best {
		f.Logs = append(f.Logs, report.LogLine{File: c.l.File, Line: c.l.Num, Time: c.l.Time, Text: c.l.Text, MatchedBy: matchedBy[c.rank]})
		for _, s := range c.sigs {
			via := cause.ViaConn
			switch c.rank {
			case rankTime:
				via = cause.ViaTime
			case rankSession:
				via = cause.ViaSession
			}
			ms = append(ms, cause.LogMatch{Sig: s, Where: c.l.File + ":" + itoa(c.l.Num), Via: via})
		}
	}
	v := cause.ApplyLogs(verdictOf(f), ms)
	if v.Cause != f.Cause {
		f.Advice = cause.Lookup(v.Cause).Advice
	}
	f.Cause, f.Confidence, f.Evidence, f.Benign = v.Cause, v.Confidence, v.Evidence, v.Benign
	f.Alternatives = f.Alternatives[:0]
	for _, a := range v.Alternatives {
		f.Alternatives = append(f.Alternatives, report.Alternative{Cause: a.Cause, Probability: a.Probability})
	}
	if len(f.Alternatives) == 0 {
		f.Alternatives = nil
	}
}

func verdictOf(f *report.Finding) cause.Verdict {
	v := cause.Verdict{Cause: f.Cause, Sender: f.Sender, Confidence: f.Confidence, Evidence: f.Evidence, Benign: f.Benign}
	for _, a := range f.Alternatives {
		v.Alternatives = append(v.Alternatives, cause.Alternative{Cause: a.Cause, Probability: a.Probability})
	}
	return v
}

func serverSide(sigs []*cause.Signature) bool {
	for _, s := range sigs {
		if s.ServerSide {
			return true
		}
	}
	return false
}

// sessionSide says a proxy's server-side signature fits f: the reset came
// from the side the signature says sent it (the proxy, which is the
// client of its server connection, when its timer ran out; the server when
// it aborted).
func sessionSide(sigs []*cause.Signature, f *report.Finding) bool {
	for _, s := range sigs {
		if !s.ServerSide {
			continue
		}
		if s.SessionSender == cause.Client && f.From == f.Client || s.SessionSender == cause.Server && f.From == f.Server {
			return true
		}
	}
	return false
}

// matchRank says how a line names the connection client–server: both
// endpoints, the client's address and port (an ephemeral port: nearly
// unique), the server's, only an address of either, or no address at all
// (rankTime). A line that names addresses, none of them the connection's,
// is about another connection: ok is false.
func matchRank(l *applog.Line, client, server netip.AddrPort) (rank int, ok bool) {
	if len(l.Conns) > 0 {
		for _, t := range l.Conns {
			a, b := netip.AddrPortFrom(t[0].Addr().Unmap(), t[0].Port()), netip.AddrPortFrom(t[1].Addr().Unmap(), t[1].Port())
			if a == client && b == server || a == server && b == client {
				return rankConn, true
			}
		}
		return 0, false // about the connections it names, not this one
	}
	ports, ips := l.Ports, l.IPs
	if len(ports) == 0 && len(ips) == 0 {
		return 0, true
	}
	var c, s bool
	for _, p := range ports {
		p = netip.AddrPortFrom(p.Addr().Unmap(), p.Port())
		c = c || p == client
		s = s || p == server
	}
	switch {
	case c && s:
		return rankConn, true
	case c:
		return rankClient, true
	case s:
		return rankServer, true
	}
	for _, p := range ports {
		// An endpoint's address with another port is another connection
		// (nginx's "server: 10.0.0.2:8080" while this one went to :8001).
		if a := p.Addr().Unmap(); a == client.Addr() || a == server.Addr() {
			return 0, false
		}
	}
	for _, a := range ips {
		if a = a.Unmap(); a == client.Addr() || a == server.Addr() {
			return rankAddress, true
		}
	}
	return 0, false
}

// insertBest keeps the n best candidates: naming the connection first,
// then carrying a signature, then nearest in time.
func insertBest(best []candidate, c candidate, n int) []candidate {
	better := func(a, b *candidate) bool {
		if a.rank != b.rank {
			return a.rank > b.rank
		}
		if (len(a.sigs) > 0) != (len(b.sigs) > 0) {
			return len(a.sigs) > 0
		}
		return a.dt < b.dt
	}
	i := len(best)
	for i > 0 && better(&c, &best[i-1]) {
		i--
	}
	if i >= n {
		return best
	}
	best = slices.Insert(best, i, c)
	if len(best) > n {
		best = best[:n]
	}
	return best
}

// estimateOffset pairs a sample of resets with the lines that name their
// client's address and port (an ephemeral port, so nearly one connection)
// within ±MaxSkew, and returns the median of line time minus reset time
// when at least three pairs agree within half a second of it and it is
// larger than the window.
func (j *LogJoiner) estimateOffset(fs []report.Finding) (time.Duration, int, bool) {
	// Each sample looks for its client's "ip:port" in 2·MaxSkew of log
	// (a grep, no parse): the nearest line naming it, in either direction.
	const sample = 16
	type probe struct {
		client, server netip.AddrPort
		at             time.Time
		found          bool
		dt             time.Duration
	}
	var probes []probe
	var needles []applog.Needle
	step := max(1, len(fs)/sample)
	for i := 0; i < len(fs); i += step {
		f := &fs[i]
		client, err := netip.ParseAddrPort(f.Client)
		if err != nil {
			continue
		}
		server, _ := netip.ParseAddrPort(f.Server)
		at := f.Time.Add(j.opts.Offset)
		probes = append(probes, probe{client: client, server: server, at: at})
		needles = append(needles, applog.Needle{Text: f.Client, From: at.Add(-j.opts.MaxSkew), To: at.Add(j.opts.MaxSkew)})
	}
	// One read of the spans for every sample; lines come in order of
	// reading, so the first of equally near lines is kept.
	_ = j.set.GrepAll(needles, func(k int, l *applog.Line) {
		p := &probes[k]
		// A proxy's line on a server-side event ends when the server side
		// did, not when this client's connection did.
		if !slices.Contains(l.Ports, p.client) {
			return
		}
		dt := l.Time.Sub(p.at)
		if p.found && absDur(dt) >= absDur(p.dt) {
			return
		}
		if rk, ok := matchRank(l, p.client, p.server); ok && rk >= rankClient && !serverSide(cause.MatchLog(cause.LogFacts{HAProxyState: l.HAProxyState})) {
			p.found, p.dt = true, dt
		}
	})
	var offs []time.Duration
	for _, p := range probes {
		if p.found && len(offs) < sample {
			offs = append(offs, p.dt)
		}
	}
	if len(offs) < 3 {
		return 0, len(offs), false
	}
	slices.Sort(offs)
	med := offs[len(offs)/2]
	agree := 0
	for _, o := range offs {
		if absDur(o-med) <= 500*time.Millisecond {
			agree++
		}
	}
	// Within the window the joins work without it; only a clock that is
	// off by more is corrected, so a few slow lines do not shift them all.
	if agree*3 < len(offs)*2 || absDur(med) <= j.opts.Window {
		return 0, len(offs), false
	}
	return med, len(offs), true
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func itoa(n int) string { return strconv.Itoa(n) }
