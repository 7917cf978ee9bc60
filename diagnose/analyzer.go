// Package diagnose wires packet sources, the flow table and the reset
// classifier together: it is the one place they meet.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// Options configure an Analyzer.
type Options struct {
	Flow flow.Config
	// LookAhead bounds how long a reset's verdict waits for what its
	// purported sender does next: at most LookAheadPackets packets of the
	// connection, and LookAheadTime of capture time.
	LookAheadPackets int
	LookAheadTime    time.Duration
	// NoClassify tracks connections without explaining resets (benchmarks).
	NoClassify bool
	// OnFinding receives each finding as soon as its look-ahead closes.
	OnFinding func(report.Finding)
	// OnConn receives each connection as it leaves the table.
	OnConn func(report.ConnSummary)
	// Progress, when set, is called about every 64k packets with the bytes
	// read so far and the file's size (0 when unknown).
	Progress func(file string, read, size int64)
	// Concurrent is how many files are analysed at the same time as this
	// one, itself included (0 counts as 1). The file is read on a goroutine
	// of its own only while that leaves a core spare: with both cores
	// analysing two files, a reader per file cost 18 % more CPU time for no
	// gain in wall time (issue 14's measurement).
	Concurrent int
	// captures is what other captures of the same traffic saw (JoinCaptures).
	captures *captures
}

// DefaultOptions are analyze's defaults.
var DefaultOptions = Options{Flow: flow.DefaultConfig, LookAheadPackets: 8, LookAheadTime: 2 * time.Second}

// Analyzer explains the resets in one stream of packets.
type Analyzer struct {
	opts    Options
	file    string
	table   *flow.Table
	hosts   hostTable
	pending pendingSet
	stats   report.FileStats
	pkt     packet.Packet
	// frags puts fragmented datagrams back together (made at the first
	// fragment); whole is the reassembled datagram decoded.
	frags *packet.Reassembler
	whole packet.Packet
	// queue, while set, explains resets on Conns on the goroutine that
	// writes the findings (see pipelined).
	queue *findingQueue
}

// New returns an analyzer for one input named file.
func New(file string, opts Options) *Analyzer {
	if opts.LookAheadPackets <= 0 {
		opts.LookAheadPackets = DefaultOptions.LookAheadPackets
	}
	if opts.LookAheadTime <= 0 {
		opts.LookAheadTime = DefaultOptions.LookAheadTime
	}
	a := &Analyzer{opts: opts, file: file, table: flow.NewTable(opts.Flow), hosts: newHostTable()}
	a.stats.File = file
	a.pending.byConn = make(map[uint64][]*pendingReset)
	a.pending.max, a.pending.look = opts.LookAheadPackets, int64(opts.LookAheadTime)
	a.pending.table = a.table
	a.table.OnEnd = a.connEnded
	return a
}

// Packet feeds one captured frame. data is only read during the call.
func (a *Analyzer) Packet(data []byte, info capture.Info) {
	p := &a.pkt
	err := p.Decode(data, info.Link)
	var k flow.Key
	if err == nil {
		k, _ = flow.MakeKey(p.SrcAddrPort(), p.DstAddrPort())
	}
	a.decoded(p, k, err, info)
}

// decoded feeds one frame already decoded into p, err being what Decode
// returned, and k its flow key when err is nil: the read-ahead decodes on
// its own goroutine (see readAhead). p and what it aliases are only read
// during the call.
func (a *Analyzer) decoded(p *packet.Packet, k flow.Key, err error, info capture.Info) {
	a.stats.Packets++
	if info.BadTime {
		if a.stats.BadTimes == 0 {
			a.stats.BadTimeFrame = info.Frame
		}
		a.stats.BadTimes++
	}
	if p.FragDatagram != nil && (err == nil && p.Fragmented || errors.Is(err, packet.ErrFragment)) {
		q, held, ok := a.reassemble(p, info.Time.UnixNano())
		if held {
			return
		}
		if ok {
			p, err = q, nil
			k, _ = flow.MakeKey(p.SrcAddrPort(), p.DstAddrPort())
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, packet.ErrNotTCP):
		case errors.Is(err, packet.ErrFragment):
			a.stats.Fragments++
			if p.FragProto == 6 {
				a.stats.TCPFragments++
			}
		case errors.Is(err, packet.ErrTunnel):
			a.stats.Tunnelled++
		case errors.Is(err, packet.ErrUnknownLink):
			if a.stats.Unsupported == 0 {
				a.stats.UnsupportedLink = uint16(info.Link)
			}
			a.stats.Unsupported++
		default:
			a.stats.Undecoded++
		}
		return
	}
	a.stats.TCP++
	if p.Truncated || info.CaptureLen < info.WireLen {
		a.stats.Truncated++
	}
	ts := info.Time
	if a.table.OfferKey(p, k, ts, info.Frame, p.IPLen) {
		// A SYN starting a connection, kept compact until answered: what
		// follows is what the rest of this function does for it.
		if !a.opts.NoClassify {
			a.flushDue(ts)
			a.hosts.first(p)
		}
		return
	}
	if !a.opts.NoClassify && p.Flags.Has(packet.SYN|packet.ACK) && !p.Flags.Has(packet.RST) {
		a.hosts.served(p.SrcAddrPort(), 0, false)
	}
	if p.Flags.Has(packet.RST) || p.Flags.Has(packet.SYN|packet.ACK) {
		if a.answer(p, k, ts, info.Frame) {
			return
		}
	}
	c, d := a.table.LookupKey(p, k, ts)
	if !a.opts.NoClassify {
		if c.Pending > 0 {
			a.pending.observe(c, p, d, ts)
		}
		if p.Flags.Has(packet.RST) {
			a.stats.Resets++
			a.pending.add(a.newPending(c, d, p, ts, info.Frame))
			c.Pending++
		}
		a.flushDue(ts)
	}
	prevData := c.Ep[d].LastData
	a.table.Update(c, p, d, ts, info.Frame, p.IPLen)
	if !a.opts.NoClassify && c.Ep[d].Packets-uint64(c.Ep[d].Resets) == 1 && !p.Flags.Has(packet.RST) {
		a.hosts.first(p)
	}
	if !a.opts.NoClassify && p.PayloadLen > 0 && d == flow.FromResp && ts.Sub(prevData) > servedEvery {
		a.hosts.served(p.SrcAddrPort(), ts.UnixNano(), true)
	}
}

// servedEvery is how often a connection's data updates its responder's
// address:port in hostTable.ports: a map update per data segment of a bulk
// transfer costs, and the rule reading it (cause.Context.PortLastData)
// weighs silences of a second or more.
const servedEvery = 10 * time.Millisecond

// reassemble hands a fragment captured whole to the reassembler, as the
// receiving host's IP layer would. held says the fragment waits for the
// rest of its datagram, was dropped (Finish counts those) or completed a
// datagram that carries no TCP segment; ok says q is the whole datagram's
// TCP segment, decoded, to take the place of the fragment that completed
// it (its frame and time). Neither: the fragment is not one the
// reassembler takes, and p stays as decoded.
func (a *Analyzer) reassemble(p *packet.Packet, ts int64) (q *packet.Packet, held, ok bool) {
	if a.frags == nil {
		a.frags = packet.NewReassembler()
	}
	whole, taken := a.frags.Add(p.FragDatagram, ts)
	if !taken {
		return nil, false, false
	}
	if whole == nil {
		return nil, true, false
	}
	a.stats.Reassembled++
	q = &a.whole
	if q.Decode(whole, packet.LinkRaw) != nil {
		return nil, true, false // not TCP (a tunnel's other traffic, DNS), or damaged once whole
	}
	// The link layer is the completing frame's; tunnels counted outside the
	// fragmented datagram are kept.
	q.Link, q.HasMAC, q.SrcMAC, q.DstMAC, q.VLANs, q.VLAN = p.Link, p.HasMAC, p.SrcMAC, p.DstMAC, p.VLANs, p.VLAN
	q.Tunnels = max(q.Tunnels, p.Tunnels)
	return q, false, true
}

// Finish flushes every connection and pending reset, as at the end of input.
func (a *Analyzer) Finish() report.FileStats {
	if a.frags != nil {
		a.frags.Flush()
		a.stats.Fragments += a.frags.Stats.Dropped
		a.stats.TCPFragments += a.frags.Stats.DroppedTCP
	}
	a.table.Flush()
	a.flushAll()
	st := a.table.Stats()
	a.stats.Conns, a.stats.Evicted, a.stats.PeakConns = st.Conns, st.Evicted, st.Peak
	return a.stats
}

// ReadFile analyses a whole capture file (name "-" is standard input). It
// returns the file's statistics and, for damaged input, an error naming the
// file and the damage; everything before the damage is still analysed and
// reported. With a CPU to spare (see Options.Concurrent) the file is read on
// a second goroutine (see readAhead) while this one decodes, tracks and
// explains.
func ReadFile(name string, opts Options) (report.FileStats, error) {
	return ReadFileContext(context.Background(), name, opts)
}

// ReadFileContext is ReadFile for a read that ctx can stop (Ctrl-C): the
// frames read by then are analysed and their resets explained, and the
// error, which wraps capture.ErrInterrupted and ctx's error, says after
// which frame the file was cut short.
func ReadFileContext(ctx context.Context, name string, opts Options) (report.FileStats, error) {
	r, err := capture.OpenContext(ctx, name)
	if err != nil {
		return report.FileStats{File: name, Error: err.Error()}, err
	}
	defer r.Close()
	a := New(name, opts)
	var readErr error
	var st report.FileStats
	if runtime.GOMAXPROCS(0) > max(opts.Concurrent, 1) {
		st, readErr = a.pipelined(ctx, r)
	} else {
		readErr = readInline(r, opts, a.Packet)
		st = a.Finish()
	}
	if ctx.Err() != nil && (readErr == nil || errors.Is(readErr, ctx.Err())) {
		// Said from here: the read-ahead may have read past the last frame
		// analysed.
		readErr = fmt.Errorf("%s: %w after frame %d, the report covers the frames before: %w", name, capture.ErrInterrupted, st.Packets, ctx.Err())
		st.Interrupted = true
	}
	if readErr == nil && st.Unsupported > 0 {
		readErr = fmt.Errorf("%s: link type %d is not supported: %d of %d frames skipped", name, st.UnsupportedLink, st.Unsupported, st.Packets)
	}
	if readErr != nil {
		st.Error = readErr.Error()
		return st, readErr
	}
	return st, nil
}

// connEnded is the table's OnEnd hook: pending resets close, the
// connection is summarised.
func (a *Analyzer) connEnded(c *flow.Conn, why flow.EndReason) {
	if c.Pending > 0 {
		a.pending.closeConn(c, a.emit)
	}
	if !a.opts.NoClassify {
		for d := range c.Ep {
			a.hosts.merge(&c.Ep[d])
		}
	}
	if a.opts.OnConn != nil {
		a.opts.OnConn(Summarize(c, a.file))
	}
}

func (a *Analyzer) flushDue(now time.Time) {
	a.pending.due(now, a.emit)
}

func (a *Analyzer) flushAll() {
	a.pending.due(time.Time{}, a.emit)
}

func (a *Analyzer) emit(pr *pendingReset) {
	if a.queue != nil && pr.cx != nil {
		a.queue.push(a.deferred(pr))
		return
	}
	f := a.explain(pr)
	if a.opts.OnFinding != nil {
		a.opts.OnFinding(f)
	}
}
