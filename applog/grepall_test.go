package applog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// grepOne is the plain search GrepAll must agree with: every line of the
// blocks in [from, to] that holds needle, split and parsed line by line.
func grepOne(s *Set, from, to time.Time, needle string, fn func(*Line)) error {
	lo, hi := from.UnixNano(), to.UnixNano()
	nb := []byte(needle)
	return s.readBlocks(lo, hi, func(f *file, b *block, buf []byte) error {
		num := b.line
		for _, line := range bytes.Split(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n")) {
			num++
			if !bytes.Contains(line, nb) {
				continue
			}
			cut := 0
			if len(line) > maxRaw {
				line, cut = line[:maxRaw], len(line)-maxRaw
			}
			l := parseLine(bytes.TrimSuffix(line, []byte("\r")), cut, &f.topts, time.Time{})
			l.File, l.Num = f.name, num
			if ns := l.Time.UnixNano(); !l.Inherited && ns >= lo && ns <= hi {
				fn(&l)
			}
		}
		return nil
	})
}

// TestGrepAllIsGrep: GrepAll with several needles passes each needle
// exactly the lines a plain search (grepOne) passes for it alone, in the same order — on a log
// of many blocks, lines written late, needles that are prefixes of other
// ports ("10.0.0.1:40" inside "10.0.0.1:4000"), IPv6, lines without a time
// and spans that overlap.
func TestGrepAllIsGrep(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	for i := range 30000 {
		ts := base.Add(time.Duration(i) * 10 * time.Millisecond)
		if i%9 == 4 {
			ts = ts.Add(-time.Duration(r.IntN(2000)) * time.Millisecond)
		}
		switch r.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "%s conn 10.0.0.1:%d->10.0.0.2:80 reset\n", ts.Format("2006-01-02T15:04:05.000Z"), 4000+r.IntN(30))
		case 1:
			fmt.Fprintf(&b, "[%s]:%d [%s] fe be/s 0/0/1/2/3 200 1 - - ---- 1/1/0/0/0 0/0 \"GET /\"\n", "fd00::1", 40+r.IntN(3), ts.Format("02/Jan/2006:15:04:05.000"))
		case 2:
			fmt.Fprintf(&b, "  continued 10.0.0.1:%d\n", 4000+r.IntN(30))
		case 3:
			fmt.Fprintf(&b, "%s other 10.0.0.9:%d\n", ts.Format("2006/01/02 15:04:05"), 4000+r.IntN(30))
		}
	}
	write(t, filepath.Join(dir, "a.log"), b.Bytes())
	s, err := Open([]string{filepath.Join(dir, "a.log")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	needles := []Needle{
		{Text: "10.0.0.1:4001", From: base.Add(10 * time.Second), To: base.Add(40 * time.Second)},
		{Text: "10.0.0.1:40", From: base.Add(30 * time.Second), To: base.Add(90 * time.Second)},
		{Text: "[fd00::1]:41", From: base.Add(-time.Minute), To: base.Add(20 * time.Second)},
		{Text: "10.0.0.9:4029", From: base.Add(200 * time.Second), To: base.Add(400 * time.Second)},
		{Text: "nowhere:1", From: base, To: base.Add(time.Hour)},
	}
	got := make([][]string, len(needles))
	if err := s.GrepAll(needles, func(k int, l *Line) {
		got[k] = append(got[k], fmt.Sprintf("%d %s", l.Num, l.Text))
	}); err != nil {
		t.Fatal(err)
	}
	for k, n := range needles {
		var want []string
		if err := grepOne(s, n.From, n.To, n.Text, func(l *Line) {
			want = append(want, fmt.Sprintf("%d %s", l.Num, l.Text))
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[k], want) {
			t.Errorf("needle %q: GrepAll passed %d lines, Grep %d", n.Text, len(got[k]), len(want))
		}
		if k < 3 && len(want) == 0 {
			t.Errorf("needle %q: no line found: the log does not test it", n.Text)
		}
	}
}

// TestIndexAll: indexAll finds every byte equal to c and no other, at any
// place in a word and in the tail, among the bytes its word trick could
// confuse with c (c±1, c with its high bit set, 0x00, 0xff, 0x80, 0x7f).
func TestIndexAll(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []byte{':', 0, 0x7f, 0x80, 0xff, '\n'} {
		near := []byte{c, c - 1, c + 1, c ^ 0x80, 0, 0xff, 0x80, 0x7f, 'a'}
		for n := range 40 {
			for range 200 {
				b := make([]byte, n)
				for i := range b {
					b[i] = near[r.IntN(len(near))]
				}
				var want []int
				for i, x := range b {
					if x == c {
						want = append(want, i)
					}
				}
				if got := indexAll(nil, b, c); !slices.Equal(got, want) {
					t.Fatalf("indexAll(%q, %q) = %v, want %v", b, c, got, want)
				}
			}
		}
	}
}
