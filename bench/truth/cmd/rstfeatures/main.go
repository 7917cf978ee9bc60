// Command rstfeatures prints, for every reset of a truth run, the wire
// facts the classifier could use — window and right-edge movement, data in
// flight toward the resetter, timing against each side's data — next to the
// kernel's reason, and per reason the distribution of each fact. It is the
// study tool behind the thresholds in cause/: run truthscore first (it
// writes DIR/resets.tsv with each reset's frame and kernel reason), then
//
//	go run ./bench/truth/cmd/rstfeatures DIR > features.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: rstfeatures DIR   (a truth run scored by truthscore)")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "rstfeatures:", err)
		os.Exit(1)
	}
}

type label struct{ reason, kind string }

func readLabels(path string) (map[uint64]label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	col := map[string]int{}
	m := map[uint64]label{}
	for n := 0; sc.Scan(); n++ {
		fs := strings.Split(sc.Text(), "\t")
		if n == 0 {
			for i, c := range fs {
				col[c] = i
			}
			continue
		}
		fr, _ := strconv.ParseUint(fs[col["frame"]], 10, 64)
		m[fr] = label{fs[col["kernel_reason"]], fs[col["kind"]]}
	}
	return m, sc.Err()
}

// fact names one wire fact and buckets its value.
type fact struct {
	name  string
	value func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string
}

func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "neg"
	case d < 100*time.Microsecond:
		return "<100us"
	case d < time.Millisecond:
		return "<1ms"
	case d < 10*time.Millisecond:
		return "<10ms"
	case d < 100*time.Millisecond:
		return "<100ms"
	case d < time.Second:
		return "<1s"
	}
	return ">=1s"
}

func sign(n int64) string {
	switch {
	case n < 0:
		return "<0"
	case n == 0:
		return "0"
	}
	return ">0"
}

// unreadSigns: the peer's data was not all acknowledged before the reset,
// or the reset's window (right edge) reopened past the sender's last.
func unreadSigns(c *flow.Conn, d flow.Dir, p *packet.Packet) (unacked, reopened bool) {
	s, q := &c.Ep[d], &c.Ep[d.Other()]
	unacked = s.HasAck && q.HasSeq && int32(q.NextSeq-s.HighAck) > 0
	if p.Flags.Has(packet.ACK) && s.HasAck {
		sc := uint32(0)
		if s.SYNOpt.HasWScale && q.SYNOpt.HasWScale {
			sc = uint32(s.SYNOpt.WScale)
		}
		reopened = int32(p.Ack+uint32(p.Window)<<sc-(uint32(s.HighAck)+uint32(s.Window)<<sc)) > 0
	}
	return
}

var facts = []fact{
	{"unacked peer data | window reopened (joint)", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		u, r := unreadSigns(c, d, p)
		return fmt.Sprintf("unacked=%v reopened=%v", u, r)
	}},
	{"rst.ack", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return strconv.FormatBool(p.Flags.Has(packet.ACK))
	}},
	{"rst.window vs sender's last", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return sign(int64(p.Window) - int64(c.Ep[d].Window))
	}},
	{"peer data unacked before reset (peer.next - sender.highack)", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		s, q := &c.Ep[d], &c.Ep[d.Other()]
		if !s.HasAck || !q.HasSeq {
			return "n/a"
		}
		return sign(int64(int32(q.NextSeq - s.HighAck)))
	}},
	{"peer data beyond the reset's ack (in flight)", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		q := &c.Ep[d.Other()]
		if !p.Flags.Has(packet.ACK) || !q.HasSeq {
			return "n/a"
		}
		return sign(int64(int32(uint32(q.NextSeq) - p.Ack)))
	}},
	{"peer's last data after sender's last data", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return strconv.FormatBool(c.Ep[d.Other()].LastData.After(c.Ep[d].LastData))
	}},
	{"since peer's last data", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		if c.Ep[d.Other()].LastData.IsZero() {
			return "none"
		}
		return dur(ts.Sub(c.Ep[d.Other()].LastData))
	}},
	{"since sender's last data", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		if c.Ep[d].LastData.IsZero() {
			return "none"
		}
		return dur(ts.Sub(c.Ep[d].LastData))
	}},
	{"since sender's last segment", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return dur(ts.Sub(c.Ep[d].Last))
	}},
	{"sender's last segment", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return segKind(&c.Ep[d].LastSeg)
	}},
	{"peer's last segment", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return segKind(&c.Ep[d.Other()].LastSeg)
	}},
	{"sender sent data", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return strconv.FormatBool(c.Ep[d].Payload > 0)
	}},
	{"sender window shrank since its max (right edge held)", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		return strconv.FormatBool(c.Ep[d].Window < winMax[key{c.ID, d}])
	}},
	{"reset's right edge vs sender's last right edge", func(c *flow.Conn, d flow.Dir, p *packet.Packet, ts time.Time) string {
		s := &c.Ep[d]
		if !p.Flags.Has(packet.ACK) || !s.HasAck {
			return "n/a"
		}
		sc := uint32(0)
		if s.SYNOpt.HasWScale && c.Ep[d.Other()].SYNOpt.HasWScale {
			sc = uint32(s.SYNOpt.WScale)
		}
		prev := uint32(s.HighAck) + uint32(s.Window)<<sc
		now := p.Ack + uint32(p.Window)<<sc
		return sign(int64(int32(now - prev)))
	}},
}

// segKind names what a segment carried.
func segKind(l *flow.Segment) string {
	switch {
	case l.PayloadLen > 0:
		return "data"
	case l.Flags.Has(packet.FIN):
		return "fin"
	case l.Flags.Has(packet.SYN):
		return "syn"
	}
	return "ack"
}

type key struct {
	id uint64
	d  flow.Dir
}

var winMax = map[key]uint16{}

func run(dir string) error {
	labels, err := readLabels(filepath.Join(dir, "resets.tsv"))
	if err != nil {
		return fmt.Errorf("reading labels (run truthscore first): %w", err)
	}
	r, err := capture.Open(filepath.Join(dir, "capture.pcap"))
	if err != nil {
		return err
	}
	defer r.Close()
	tab := flow.NewTable(flow.DefaultConfig)
	tab.OnEnd = func(c *flow.Conn, _ flow.EndReason) { delete(winMax, key{c.ID, 0}); delete(winMax, key{c.ID, 1}) }
	// counts[fact][reason][bucket]
	counts := make([]map[string]map[string]int, len(facts))
	for i := range counts {
		counts[i] = map[string]map[string]int{}
	}
	reasons := map[string]int{}
	neither := map[string]int{}
	var p packet.Packet
	for {
		data, info, err := r.Next()
		if err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "rstfeatures:", err)
			}
			break
		}
		if p.Decode(data, info.Link) != nil {
			continue
		}
		c, d := tab.Lookup(&p, info.Time)
		if p.Flags.Has(packet.RST) {
			if l, ok := labels[info.Frame]; ok && c.Ep[d].Resets == 0 {
				row := l.reason
				reasons[row]++
				if u, re := unreadSigns(c, d, &p); !u && !re && p.Flags.Has(packet.ACK) && c.Ep[d.Other()].Payload > 0 {
					k := fmt.Sprintf("%-20s %-20s sentdata=%-5v peerlast=%-5v peerdt=%-7s burst?", row, l.kind, c.Ep[d].Payload > 0,
						c.Ep[d.Other()].LastData.After(c.Ep[d].LastData), dur(info.Time.Sub(c.Ep[d.Other()].LastData)))
					neither[k]++
				}
				for i, f := range facts {
					m := counts[i][row]
					if m == nil {
						m = map[string]int{}
						counts[i][row] = m
					}
					m[f.value(c, d, &p, info.Time)]++
				}
			}
		} else if k := (key{c.ID, d}); p.Window > winMax[k] {
			winMax[k] = p.Window
		}
		tab.Update(c, &p, d, info.Time, info.Frame, p.IPLen)
	}
	fmt.Println("\nresets from a live socket after peer data with neither sign (reason, kind, facts): count")
	var ks []string
	for k := range neither {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		fmt.Printf("  %s %d\n", k, neither[k])
	}
	var rs []string
	for r := range reasons {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return reasons[rs[i]] > reasons[rs[j]] })
	for i, f := range facts {
		fmt.Printf("\n%s\n", f.name)
		for _, r := range rs {
			m := counts[i][r]
			var bs []string
			for b := range m {
				bs = append(bs, b)
			}
			sort.Strings(bs)
			var parts []string
			for _, b := range bs {
				parts = append(parts, fmt.Sprintf("%s %.1f%%", b, 100*float64(m[b])/float64(reasons[r])))
			}
			fmt.Printf("  %-22s %6d  %s\n", r, reasons[r], strings.Join(parts, ", "))
		}
	}
	return nil
}
