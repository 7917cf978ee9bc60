package applog

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Needle is one string GrepAll looks for, between From and To.
type Needle struct {
	Text     string
	From, To time.Time
}

// GrepAll looks for several needles at once in the raw bytes, parsing only
// the lines that hold one: it reads each block that can hold a line in some
// needle's span once, and calls fn for every line
// whose raw text contains a needle and whose own time (not inherited) is
// in that needle's span, with the needle's index. A line holding several
// needles is parsed once and passed once per needle, in the order of the
// lines. Needles sharing their text up to a last ':' (the ip: of ip:port)
// are found by one search for that prefix. Looking for the offset between
// a log's clock and a capture's, one read of the minutes around the resets
// replaced rings of Grep around each, which read the same blocks again for
// each reset and ring (0.76 s of 1.2 s joining a 1 GB log to the bench
// capture).
func (s *Set) GrepAll(needles []Needle, fn func(i int, l *Line)) error {
	if len(needles) == 0 {
		return nil
	}
	lo, hi := int64(1<<63-1), int64(-1<<63)
	spans := make([][2]int64, len(needles))
	// Needles by prefix, then by the text after it: at a prefix found, a
	// look-up for each length of that text the needles have, instead of a
	// comparison with each needle (the bench's 16 needles all share one
	// prefix, found on half the lines).
	type group struct {
		p    string
		rest map[string][]int
		lens []int
	}
	byPrefix := map[string]*group{}
	var colon, other []*group
	for i, n := range needles {
		spans[i] = [2]int64{n.From.UnixNano(), n.To.UnixNano()}
		lo, hi = min(lo, spans[i][0]), max(hi, spans[i][1])
		p := n.Text[:strings.LastIndexByte(n.Text, ':')+1]
		if p == "" {
			p = n.Text
		}
		g := byPrefix[p]
		if g == nil {
			g = &group{p: p, rest: map[string][]int{}}
			byPrefix[p] = g
			if strings.HasSuffix(p, ":") {
				colon = append(colon, g)
			} else {
				other = append(other, g)
			}
		}
		r := n.Text[len(p):]
		if !slices.Contains(g.lens, len(r)) {
			g.lens = append(g.lens, len(r))
		}
		g.rest[r] = append(g.rest[r], i)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type hit struct{ pos, k int }
	var hits []hit
	var cols []int
	var ks []int
	return s.readBlocks(lo, hi, func(f *file, b *block, buf []byte) error {
		hits = hits[:0]
		found := func(g *group, at int) {
			tail := buf[at+len(g.p):]
			for _, n := range g.lens {
				if n > len(tail) {
					continue
				}
				for _, k := range g.rest[string(tail[:n])] {
					if b.max >= spans[k][0] && b.min <= spans[k][1] {
						hits = append(hits, hit{at, k})
					}
				}
			}
		}
		for _, g := range other {
			for at := 0; ; at++ {
				e := bytes.Index(buf[at:], []byte(g.p))
				if e < 0 {
					break
				}
				at += e
				found(g, at)
			}
		}
		// The ip: prefixes are found at the colons they end with: where
		// one prefix is on most lines (the bench log names its client on
		// half of them), bytes.Index stops and starts again at each and
		// read 80 MB in 70 ms, a walk over the colons in 40 (IndexByte
		// from each colon to the next, ~20 ns a colon in the joins' profile,
		// 0.1 s of CPU for the bench's 4½ minutes of log), a list of the
		// colons made eight bytes at a time (indexAll) in ~15.
		if len(colon) > 0 {
			cols = indexAll(cols[:0], buf, ':')
			for _, c := range cols {
				for _, g := range colon {
					// The byte before the colon first: most colons in a
					// log are a time's, after a digit.
					at := c + 1 - len(g.p)
					if at >= 0 && (len(g.p) < 2 || buf[c-1] == g.p[len(g.p)-2]) && string(buf[at:c+1]) == g.p {
						found(g, at)
					}
				}
			}
		}
		if len(hits) == 0 {
			return nil
		}
		slices.SortFunc(hits, func(x, y hit) int { return x.pos - y.pos })
		// The lines holding the hits, each parsed once.
		num, start := b.line, 0
		for h := 0; h < len(hits); {
			for {
				e := bytes.IndexByte(buf[start:], '\n')
				if e < 0 || start+e >= hits[h].pos {
					break
				}
				start += e + 1
				num++
			}
			end := len(buf)
			if e := bytes.IndexByte(buf[start:], '\n'); e >= 0 {
				end = start + e
			}
			ks = ks[:0]
			for ; h < len(hits) && hits[h].pos < end; h++ {
				// A needle running past the line's end is not in it.
				if hits[h].pos+len(needles[hits[h].k].Text) <= end && !slices.Contains(ks, hits[h].k) {
					ks = append(ks, hits[h].k)
				}
			}
			line := buf[start:end]
			start = min(end+1, len(buf))
			num++
			if len(ks) == 0 {
				continue
			}
			slices.Sort(ks)
			cut := 0
			if len(line) > maxRaw {
				line, cut = line[:maxRaw], len(line)-maxRaw
			}
			l := parseLine(bytes.TrimSuffix(line, []byte("\r")), cut, &f.topts, time.Time{})
			l.File, l.Num = f.name, num
			if l.Inherited {
				continue
			}
			ns := l.Time.UnixNano()
			for _, k := range ks {
				if ns >= spans[k][0] && ns <= spans[k][1] {
					fn(k, &l)
				}
			}
		}
		return nil
	})
}

// indexAll appends to dst the index of every c in b, in order. It looks at
// eight bytes at a time: a word's bytes equal to c are found at once
// (each byte of v is zero where b's is c; for each, adding 0x7f to its low
// seven bits carries into its high bit unless all are zero, and neither
// that nor v's own high bit is set only for a zero byte).
func indexAll(dst []int, b []byte, c byte) []int {
	const lo7 = 0x7f7f7f7f7f7f7f7f
	pat := uint64(c) * 0x0101010101010101
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:]) ^ pat
		z := ^((v&lo7 + lo7) | v | lo7)
		for z != 0 {
			dst = append(dst, i+bits.TrailingZeros64(z)>>3)
			z &= z - 1
		}
	}
	for ; i < len(b); i++ {
		if b[i] == c {
			dst = append(dst, i)
		}
	}
	return dst
}
