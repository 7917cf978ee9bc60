package diagnose

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// LadderBefore is how many of a connection's packets before a reset its
// ladder keeps. Thirty cover a handshake, a few request/response rounds and
// the close on every connection of testdata/sample; a bulk transfer shows
// its last thirty, with the count of those left out.
const LadderBefore = 30

// Ladders draws the ladders of the resets a report shows in detail
// (report.Shown). It reads each capture file a second time and keeps
// packets only for the connections of those resets, so memory does not grow
// with the capture. Standard input cannot be read twice: its resets get no
// ladder, and a note says so.
func Ladders(rep *report.Report, opts Options) *report.Ladders {
	return LaddersOf(rep, rep.Shown(rep.Groups()), opts)
}

// LaddersOf draws the ladders of the given resets of rep.
func LaddersOf(rep *report.Report, want []report.ResetRef, opts Options) *report.Ladders {
	out := &report.Ladders{ByReset: map[report.ResetRef]*report.Ladder{}, Spans: map[string]report.Span{}}
	byFile := map[string][]*report.Finding{}
	wanted := map[report.ResetRef]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if wanted[report.ResetRef{File: f.File, Frame: f.Frame}] {
			byFile[f.File] = append(byFile[f.File], f)
		}
	}
	for _, st := range rep.Summary.Files {
		name := st.File
		if name == "-" {
			if len(byFile[name]) > 0 {
				out.Notes = append(out.Notes, "standard input cannot be read a second time: its resets have no ladder diagram (analyze a file to see them)")
			}
			continue
		}
		// The span is wanted for every file, so each is read again even
		// with no reset shown: reading is a small part of the first pass.
		span, err := ladderPass(name, byFile[name], opts, out.ByReset)
		if !span.First.IsZero() {
			out.Spans[name] = span
		}
		if err != nil && st.Error == "" {
			out.Notes = append(out.Notes, fmt.Sprintf("drawing ladders: %v", err))
		}
	}
	return out
}

// LadderFor finds the reset at frame in rep (of file, or of the only file
// when file is "") and draws its ladder.
func LadderFor(rep *report.Report, file string, frame uint64, opts Options) (*report.Finding, *report.Ladder, error) {
	var f *report.Finding
	var resets []string
	for i := range rep.Findings {
		x := &rep.Findings[i]
		if file != "" && x.File != file {
			continue
		}
		if x.Frame == frame {
			if f != nil {
				return nil, nil, fmt.Errorf("frame %d is a reset in both %s and %s: name one file", frame, f.File, x.File)
			}
			f = x
		}
		if len(resets) < 10 {
			resets = append(resets, strconv.FormatUint(x.Frame, 10))
		}
	}
	if f == nil {
		if len(resets) == 0 {
			return nil, nil, fmt.Errorf("frame %d is not a TCP reset: the capture has none", frame)
		}
		return nil, nil, fmt.Errorf("frame %d is not a TCP reset (resets are at frames %s%s)", frame, strings.Join(resets, ", "), more(len(rep.Findings), len(resets)))
	}
	if f.File == "-" {
		return f, nil, errors.New("standard input cannot be read a second time for the ladder: analyze a file")
	}
	l := LaddersOf(rep, []report.ResetRef{{File: f.File, Frame: f.Frame}}, opts)
	if len(l.Notes) > 0 && l.Of(f) == nil {
		return f, nil, errors.New(l.Notes[0])
	}
	return f, l.Of(f), nil
}

func more(total, shown int) string {
	if total > shown {
		return ", …"
	}
	return ""
}

// ladderTuple follows one 4-tuple with a reset to draw.
type ladderTuple struct {
	client netip.AddrPort
	// ring holds the last LadderBefore packets; total counts all seen.
	ring  []report.LadderPacket
	next  int
	total int
	// base is each side's initial sequence number (0: client, 1: server).
	base    [2]uint32
	baseSet [2]bool
	resets  map[uint64]*report.Finding
	open    []*openLadder
}

// openLadder is a ladder still taking its look-ahead.
type openLadder struct {
	l          *report.Ladder
	fromClient bool // the reset's direction
	left       int
	deadline   int64 // capture time, Unix ns
}

// ladderPass reads name once, drawing the ladders of resets, and returns
// the file's span.
func ladderPass(name string, resets []*report.Finding, opts Options, into map[report.ResetRef]*report.Ladder) (report.Span, error) {
	var span report.Span
	r, err := capture.Open(name)
	if err != nil {
		return span, err
	}
	defer r.Close()
	tuples := map[flow.Key]*ladderTuple{}
	for _, f := range resets {
		c, err1 := netip.ParseAddrPort(f.Client)
		s, err2 := netip.ParseAddrPort(f.Server)
		if err1 != nil || err2 != nil {
			continue
		}
		k, _ := flow.MakeKey(c, s)
		t := tuples[k]
		if t == nil {
			t = &ladderTuple{client: c, resets: map[uint64]*report.Finding{}}
			tuples[k] = t
		}
		t.resets[f.Frame] = f
	}
	look, lookNS := opts.LookAheadPackets, int64(opts.LookAheadTime)
	if look <= 0 {
		look = DefaultOptions.LookAheadPackets
	}
	if lookNS <= 0 {
		lookNS = int64(DefaultOptions.LookAheadTime)
	}
	var p packet.Packet
	for {
		data, info, err := r.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return span, err
		}
		if span.First.IsZero() || info.Time.Before(span.First) {
			span.First = info.Time
		}
		if info.Time.After(span.Last) {
			span.Last = info.Time
		}
		if len(tuples) == 0 || p.Decode(data, info.Link) != nil {
			continue
		}
		k, _ := flow.MakeKey(p.SrcAddrPort(), p.DstAddrPort())
		t := tuples[k]
		if t == nil {
			continue
		}
		lp := t.summary(&p, info)
		ns := info.Time.UnixNano()
		kept := t.open[:0]
		for _, o := range t.open {
			if ns > o.deadline {
				continue
			}
			lp := lp
			lp.After = true
			// A purported sender that goes on talking after its own reset
			// did not send it, or did not mean it: the forged-reset race
			// (Weaver, Sommer and Paxson, NDSS 2009).
			if lp.FromClient == o.fromClient && !lp.Flags.Has(packet.RST) {
				lp.Cited = "the reset's sender kept talking after it"
			}
			o.l.Packets = append(o.l.Packets, lp)
			if o.left--; o.left > 0 {
				kept = append(kept, o)
			}
		}
		t.open = kept
		if f := t.resets[info.Frame]; f != nil && p.Flags.Has(packet.RST) {
			l := t.start(f, lp)
			into[report.ResetRef{File: f.File, Frame: f.Frame}] = l
			t.open = append(t.open, &openLadder{l: l, fromClient: lp.FromClient, left: look, deadline: ns + lookNS})
		}
		t.push(lp)
	}
}

// summary is what a ladder shows of p, with sequence numbers made relative.
func (t *ladderTuple) summary(p *packet.Packet, info capture.Info) report.LadderPacket {
	side := 1
	if p.SrcAddrPort() == t.client || (p.Src.Unmap() == t.client.Addr().Unmap() && p.SrcPort == t.client.Port()) {
		side = 0
	}
	// A SYN starts the side's numbering again: a new connection on the
	// same 4-tuple. Without a SYN in view, the first packet counts as the
	// one after it (seq 1), as Wireshark numbers it.
	switch {
	case p.Flags.Has(packet.SYN):
		t.base[side], t.baseSet[side] = p.Seq, true
	case !t.baseSet[side]:
		t.base[side], t.baseSet[side] = p.Seq-1, true
	}
	lp := report.LadderPacket{
		Frame: info.Frame, Time: info.Time, FromClient: side == 0, Flags: p.Flags,
		Seq: int64(int32(p.Seq - t.base[side])), Len: p.PayloadLen, Window: p.Window,
		TTL: p.TTL, IPID: p.IPID, IPv6: p.IPVersion == 6,
	}
	if p.Flags.Has(packet.ACK) && t.baseSet[1-side] {
		lp.Ack = int64(int32(p.Ack - t.base[1-side]))
	} else if p.Flags.Has(packet.ACK) {
		lp.Ack = int64(p.Ack) // the other side's numbering is unknown
	}
	return lp
}

func (t *ladderTuple) push(lp report.LadderPacket) {
	t.total++
	if len(t.ring) < LadderBefore {
		t.ring = append(t.ring, lp)
		return
	}
	t.ring[t.next] = lp
	t.next = (t.next + 1) % LadderBefore
}

// start begins the ladder of the reset f, whose packet is lp.
func (t *ladderTuple) start(f *report.Finding, lp report.LadderPacket) *report.Ladder {
	l := &report.Ladder{File: f.File, Frame: f.Frame, Client: f.Client, Server: f.Server, Earlier: t.total - len(t.ring)}
	l.Packets = make([]report.LadderPacket, 0, len(t.ring)+1+8)
	l.Packets = append(l.Packets, t.ring[t.next:]...)
	l.Packets = append(l.Packets, t.ring[:t.next]...)
	for i := range l.Packets {
		l.Packets[i].After = false
	}
	named := framesNamed(f.Evidence)
	for i := range l.Packets {
		if named[l.Packets[i].Frame] {
			l.Packets[i].Cited = "named in the evidence"
		}
	}
	// The peer's last segment before the reset: what the reset answered, if anything.
	for i := len(l.Packets) - 1; i >= 0; i-- {
		if l.Packets[i].FromClient != lp.FromClient {
			if l.Packets[i].Cited == "" {
				l.Packets[i].Cited = "the peer's last segment before the reset"
			}
			break
		}
	}
	lp.Reset = true
	l.Packets = append(l.Packets, lp)
	return l
}

// framesNamed collects the numbers after "frame " in evidence lines (an
// earlier reset of the connection, say).
func framesNamed(ev []string) map[uint64]bool {
	var out map[uint64]bool
	for _, e := range ev {
		for {
			i := strings.Index(e, "frame ")
			if i < 0 {
				break
			}
			e = e[i+len("frame "):]
			j := 0
			for j < len(e) && e[j] >= '0' && e[j] <= '9' {
				j++
			}
			if n, err := strconv.ParseUint(e[:j], 10, 64); err == nil {
				if out == nil {
					out = map[uint64]bool{}
				}
				out[n] = true
			}
		}
	}
	return out
}
