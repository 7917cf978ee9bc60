package applog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// A large log is indexed by samples of its times, not by reading every
// line's: joining the 1 GB log of bench/loggen to the bench capture, whose
// resets span 12.5 s of the log's hour, reading every line's time was
// 1.7 s of 3.4 s of CPU (~140 ns a line), and all but 2 % of those
// lines lie far from any reset.
//
// One pass over the file (through a view, view.go: a small read where
// each block starts) cuts it into the blocks a whole read would (each
// starts at the first line beginning blockSize after the last) and reads
// the times of the first lines of each block (sampleLines). Line numbers
// stay the file's, but are counted lazily: a block's number (the newlines
// before it) is counted when a query first reads it, from the last block
// counted, so a query in the first half of a file never counts the rest
// (lineOf). Counting every newline at Open was most of the pass: 1 GB
// read and counted, 0.17–0.59 s of CPU joining the bench log beside the
// capture's analysis. (Counting only as far as the queries need with the
// samples read at each block's start had been tried before, with four
// samples a block, and was slower with the page cache dropped and no
// cheaper hot: 65 k scattered reads; one a block is 16 k.)
//
// A block not yet read is bounded by the samples around it: logs are
// mostly, not strictly, in time order (a program writes a request's line
// at its end, with its start time or its end's, on several threads), so
// with D the most any line is earlier than a line before it, every line
// after a sample s has a time ≥ s − D and every line before it ≤ s + D; a
// block's lines lie within [the latest sample before it − D, the earliest
// sample after it + D]. D is measured on the samples (the most a sample is
// earlier than one before it) and allowed twice over, plus lateFloor for
// lines later than any sampled. A query (Lines, Near) reads the times of
// every block its window can overlap by those bounds (prepare), which then
// hold their own times as a whole read's would; a block found with a time
// outside its bounds says D was more than measured: D is widened to twice
// what that block needs and the query's blocks found again. A line later
// than that in a part of the file no query came near is not found: the
// price of not reading the file's times, stated in docs/logs.md.
//
// GrepAll reads raw blocks by their bounds without reading their times
// first: it parses only the lines holding a needle, each with its own time.

// sparseFrom is the size from which a file is sampled rather than read
// whole: below 64 MiB a whole read costs under 0.1 s of CPU; tests set it
// to sample small files.
var sparseFrom int64 = 64 << 20

// sampleLines is how many lines at each block's start are sampled (those
// the one read of sampleWindow bytes there holds). Four samples spread
// over each block, every 16 KiB (65 k reads of the bench's 1 GB log, or a
// page fault each mapped), took 119–182 ms of CPU; four lines at each
// block's start, one read a block, 43–64 ms, and measure the same
// disorder: 11.9 s allowed on the ordered log, 21.6 s on the late one,
// against 12.0 s and 21.9 s now, and the bench join reads the times of
// 190 and 264 blocks (267 before). One line a block measured less of it
// on TestSparseMatchesWhole's log (1 line in 20 up to 2 s late) and missed
// the far late line that test looks for.
const sampleLines = 4

// lateFloor is added to the disorder allowed: lines later than any
// sampled one by up to 10 s are still found. Each second of it reads
// another second of log on either side of the queries' span (on the bench
// log 0.3 MB, ~0.3 ms of CPU).
const lateFloor = int64(10 * time.Second)

// farOut: a file whose allowed disorder is more than a quarter of the
// span of its sampled times is read whole (as a file under sparseFrom),
// since a query would read at least half of it.
const farOut = 4

// sample indexes f from one pass over r (size bytes): its blocks with
// their sampled times, bounds from those, and no line numbers but the
// first block's (lineOf counts them). It returns why the file should be
// read whole instead, if it should.
func (f *file) sample(r *os.File, size int64) (why string, err error) {
	v := newView(r, size, sampleWindow)
	v.readAhead = true
	sb := lineFinder{v: v, size: size}
	topts := f.topts.withCache()
	const none, never = int64(-1 << 63), int64(1<<63 - 1)
	runMax, lateSeen := none, int64(0)
	first, last := never, none // the span of the sampled times
	cur := block{smpMin: never, smpMax: none}
	f.blocks = make([]block, 0, size/blockSize+1)
	for cur.off < size {
		st := cur.off
		for range sampleLines {
			line, err := sb.line(st)
			if err != nil {
				return "", err
			}
			if t, ok := ParseTime(line, &topts); ok {
				ns := t.UnixNano()
				cur.smpMin, cur.smpMax = min(cur.smpMin, ns), max(cur.smpMax, ns)
				if runMax != none {
					lateSeen = max(lateSeen, runMax-ns)
				}
				runMax = max(runMax, ns)
				first, last = min(first, ns), max(last, ns)
			}
			// The next line, if the window read holds it.
			if st, err = sb.lineStart(st + 1); err != nil {
				return "", err
			}
			if st >= cur.off+blockSize || st >= size || !sb.v.holds(st) {
				break
			}
		}
		end, err := sb.lineStart(cur.off + blockSize)
		if err != nil {
			return "", err
		}
		cur.end = min(end, size)
		f.blocks = append(f.blocks, cur)
		if end >= size {
			break
		}
		cur = block{off: end, smpMin: never, smpMax: none}
	}
	f.late = 2*lateSeen + lateFloor
	switch {
	case first > last:
		return "no time read in a sample of its lines", nil
	case f.late*farOut > last-first:
		return fmt.Sprintf("lines up to %v out of order in a sample of them", time.Duration(lateSeen)), nil
	}
	f.sampled, f.size, f.counted = true, size, 0
	f.widen()
	f.bounds()
	return "", nil
}

// lineOf returns the number of the line before block i's first. A sampled
// file's blocks are numbered as queries reach them: the newlines from the
// last block numbered up to block i are counted then. Callers hold the
// Set's lock.
func (f *file) lineOf(i int) (int, error) {
	if !f.sampled || i <= f.counted {
		return f.blocks[i].line, nil
	}
	if f.counter == nil {
		// Kept open until Close: queries come block by block, and a
		// window read for one holds the next blocks too.
		in, err := os.Open(f.path)
		if err != nil {
			return 0, err
		}
		f.counter = newView(in, f.size, countWindow)
	}
	for ; f.counted < i; f.counted++ {
		b := &f.blocks[f.counted]
		n, err := f.counter.countLines(b.off, b.end)
		if err != nil {
			return 0, err
		}
		f.blocks[f.counted+1].line = b.line + n
	}
	return f.blocks[i].line, nil
}

// widen sets the bounds of the blocks not yet read from the samples around
// them and the disorder allowed (see the comment at the top).
func (f *file) widen() {
	const none, never = int64(-1 << 63), int64(1<<63 - 1)
	before := none
	for i := range f.blocks {
		b := &f.blocks[i]
		if !b.exact {
			b.min = addSat(before, -f.late)
		}
		before = max(before, b.smpMax)
	}
	after := never
	for i := len(f.blocks) - 1; i >= 0; i-- {
		b := &f.blocks[i]
		if !b.exact {
			b.max = addSat(after, f.late)
		}
		after = min(after, b.smpMin)
	}
}

// prepare reads the times of the blocks of every sampled file that can
// hold times in [lo, hi] and have not been read yet.
func (s *Set) prepare(lo, hi int64) error {
	for _, f := range s.files {
		if err := f.prepare(lo, hi); err != nil {
			return err
		}
	}
	return nil
}

func (f *file) prepare(lo, hi int64) error {
	if !f.sampled {
		return nil
	}
	for {
		first, last := f.span(lo, hi)
		read, need := false, int64(0)
		for i := first; i < last; {
			if b := &f.blocks[i]; b.exact || b.max < lo || b.min > hi {
				i++
				continue
			}
			j := i + 1
			for j < last && !f.blocks[j].exact {
				j++
			}
			n, err := f.read(i, j)
			if err != nil {
				return err
			}
			read, need = true, max(need, n)
			i = j
		}
		if need > f.late {
			f.late = addSat(need, need)
			f.widen()
		}
		if read {
			f.bounds()
		}
		if need == 0 {
			return nil
		}
	}
}

var errChanged = errors.New("changed while being read")

// addSat is a+b held within the int64 range, whose ends stand for no bound
// (a time from a far year can be that far from the others).
func addSat(a, b int64) int64 {
	switch {
	case a == -1<<63 || a == 1<<63-1:
		return a
	case b > 0 && a > 1<<63-1-b:
		return 1<<63 - 1
	case b < 0 && a < -1<<63-b:
		return -1 << 63
	}
	return a + b
}

// read reads the times of blocks [a, b) and returns the disorder allowed
// that one of them needs beyond f.late (0 none).
func (f *file) read(a, b int) (need int64, err error) {
	in, err := os.Open(f.path)
	if err != nil {
		return 0, fmt.Errorf("log %s: %w", f.name, err)
	}
	defer in.Close()
	if _, err := f.lineOf(b - 1); err != nil {
		return 0, fmt.Errorf("log %s: %w", f.name, err)
	}
	carry, err := f.carryBefore(in, a)
	if err != nil {
		return 0, err
	}
	from := f.blocks[a].off
	p := f.scan(io.NewSectionReader(in, from, f.blocks[b-1].end-from), from)
	if p.err != nil {
		return 0, fmt.Errorf("log %s: line %d: %w", f.name, f.blocks[a].line+p.lines+1, p.err)
	}
	p.stitch(carry, f.blocks[a].line)
	if len(p.blocks) != b-a {
		return 0, fmt.Errorf("log %s: %w", f.name, errChanged)
	}
	for k := range p.blocks {
		nb, ob := &p.blocks[k], &f.blocks[a+k]
		if nb.off != ob.off || nb.end != ob.end || nb.line != ob.line {
			return 0, fmt.Errorf("log %s: %w", f.name, errChanged)
		}
		if nb.min <= nb.max { // the bounds held the block's times?
			if nb.min < ob.min {
				need = max(need, addSat(addSat(ob.min, f.late), -nb.min))
			}
			if nb.max > ob.max {
				need = max(need, addSat(nb.max, -addSat(ob.max, -f.late)))
			}
		}
		nb.smpMin, nb.smpMax = ob.smpMin, ob.smpMax
		*ob = *nb
	}
	return need, nil
}

// carryBefore returns the time that lines at the start of block a inherit:
// the last time of the blocks before it, read back from a block already
// read or one at a time until one has a timed line.
func (f *file) carryBefore(in *os.File, a int) (int64, error) {
	for k := a - 1; k >= 0; k-- {
		b := &f.blocks[k]
		if b.exact {
			return b.last, nil
		}
		p := f.scan(io.NewSectionReader(in, b.off, b.end-b.off), b.off)
		if p.err != nil {
			return 0, fmt.Errorf("log %s: line %d: %w", f.name, b.line+p.lines+1, p.err)
		}
		if p.last != 0 {
			return p.last, nil
		}
	}
	return 0, nil
}

// lineFinder finds lines in a file through a view.
type lineFinder struct {
	v    *view
	size int64
	// The last lineStart looked from seek on and found found: no newline
	// lies in [seek, found-1), so a later call for a point in it has the
	// same answer without looking through a long line again.
	seek, found int64
}

// lineStart returns the offset of the first line starting at or after x,
// size if none.
func (s *lineFinder) lineStart(x int64) (int64, error) {
	if x <= 0 {
		return 0, nil
	}
	if x-1 >= s.seek && x-1 < s.found {
		return s.found, nil
	}
	s.seek, s.found = x-1, s.size
	for q := x - 1; q < s.size; {
		b, err := s.v.at(q, 1)
		if err != nil {
			return 0, err
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			s.found = q + int64(i) + 1
			break
		}
		q += int64(len(b))
	}
	return s.found, nil
}

// line returns the line starting at st as lineReader returns it: its first
// maxRaw bytes, without its line ending.
func (s *lineFinder) line(st int64) ([]byte, error) {
	b, err := s.v.at(st, 1)
	for err == nil && bytes.IndexByte(b[:min(len(b), maxRaw+1)], '\n') < 0 && len(b) <= maxRaw && st+int64(len(b)) < s.size {
		// Not all of it in the window: read on, twice as much each time
		// (a line is rarely longer than a few hundred bytes).
		b, err = s.v.at(st, min(2*len(b), maxRaw+1))
	}
	if err != nil {
		return nil, err
	}
	b = b[:min(len(b), maxRaw+1)]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = b[:min(len(b), maxRaw)]
	return bytes.TrimSuffix(b, []byte{'\r'}), nil
}
