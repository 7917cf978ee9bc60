package applog

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure reading a set of logs.
type Options struct {
	Time TimeOptions
	// TempDir receives the decompressed copies of gzip files and command
	// output ("" is the system's); they are removed by Close.
	TempDir string
}

// blockSize is the span of one index entry. A query reads whole blocks, so
// this is the least read per reset; 64 KiB keeps the index of a 1 GB log at
// 16k entries (under 1 MB) and a block's parse well under a millisecond.
const blockSize = 64 << 10

// block is one index entry: a run of lines and the span of their times.
type block struct {
	off, end int64 // byte range in the file
	line     int   // number of the line before the block's first
	prev     int64 // time (Unix ns) inherited by leading lines without one; 0 none
	min, max int64 // Unix ns; min > max when no line in the block has a time
	lead     bool  // some of its lines have no time and none before them in its part (see scan)
	// last is the time a line after the block inherits: its last timed
	// line's, else prev.
	last int64
	// exact says min, max, prev and last were read from the block's lines.
	// A sampled file's other blocks (sparse.go) hold bounds instead, made
	// from the sampled times of the blocks around them, and read their own
	// when a query first needs them; smpMin and smpMax are the block's
	// sampled times (smpMin > smpMax: none).
	exact          bool
	smpMin, smpMax int64
}

// file is one indexed log.
type file struct {
	name   string // as the user gave it (or the directory entry)
	path   string // what is read: the file itself or its decompressed copy
	temp   bool
	topts  TimeOptions // Options.Time, with Ref the file's modification time when unset
	blocks []block
	// pmax[i] is the latest time in blocks[:i+1], smin[i] the earliest in
	// blocks[i:]: a query binary-searches them for the blocks that can
	// overlap it, so a log whose lines are nearly in order (all of them,
	// give or take a slow request) costs a few blocks per query, not a scan.
	pmax, smin []int64
	// sampled: the file was indexed by samples of its times (sparse.go);
	// late is the disorder its blocks' bounds allow, in ns; size its size
	// when sampled; blocks[:counted+1] have their line numbers (lineOf).
	sampled bool
	late    int64
	size    int64
	counted int
	counter *view // reads the file for lineOf
}

// span returns the blocks [first, last) that can hold times in [lo, hi].
func (f *file) span(lo, hi int64) (first, last int) {
	first = sort.Search(len(f.blocks), func(i int) bool { return f.pmax[i] >= lo })
	last = sort.Search(len(f.blocks), func(i int) bool { return f.smin[i] > hi })
	return first, max(first, last)
}

// overlapping yields the blocks whose times can overlap [lo, hi]: span's
// candidates less those whose own times lie outside it.
func (f *file) overlapping(lo, hi int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		first, last := f.span(lo, hi)
		for i := first; i < last; i++ {
			if b := &f.blocks[i]; b.max >= lo && b.min <= hi && !yield(i) {
				return
			}
		}
	}
}

// readBlocks calls fn with the raw bytes of every block of every file
// whose times can overlap [lo, hi], reading them without parsing (buf is
// reused between calls).
func (s *Set) readBlocks(lo, hi int64, fn func(f *file, b *block, buf []byte) error) error {
	var buf []byte
	for _, f := range s.files {
		var in *os.File
		err := func() error {
			for i := range f.overlapping(lo, hi) {
				b := &f.blocks[i]
				if _, err := f.lineOf(i); err != nil {
					return fmt.Errorf("log %s: %w", f.name, err)
				}
				if in == nil {
					var err error
					if in, err = os.Open(f.path); err != nil {
						return fmt.Errorf("log %s: %w", f.name, err)
					}
				}
				buf = slices.Grow(buf[:0], int(b.end-b.off))[:b.end-b.off]
				if _, err := in.ReadAt(buf, b.off); err != nil && err != io.EOF {
					return fmt.Errorf("log %s: %w", f.name, err)
				}
				if err := fn(f, b, buf); err != nil {
					return err
				}
			}
			return nil
		}()
		if in != nil {
			in.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fit lets the cache hold every block a query on [lo, hi] reads.
func (s *Set) fit(lo, hi int64) {
	need := 0
	for _, f := range s.files {
		first, last := f.span(lo, hi)
		need += last - first
	}
	s.cache.fit(need)
}

func (f *file) bounds() {
	n := len(f.blocks)
	f.pmax, f.smin = make([]int64, n), make([]int64, n)
	m := int64(-1 << 63)
	for i, b := range f.blocks {
		m = max(m, b.max)
		f.pmax[i] = m
	}
	m = 1<<63 - 1
	for i := n - 1; i >= 0; i-- {
		m = min(m, f.blocks[i].min)
		f.smin[i] = m
	}
}

// Stats describe what a Set read.
type Stats struct {
	// Lines, Timed and Cut count the lines of the files read whole at
	// Open, not of Sampled ones: their lines are read only around the
	// times asked for, and counted only as far as those (sparse.go).
	Files, Lines, Timed, Cut int
	Bytes                    int64
	// Skipped names the files not read and why ("binary", "journald
	// binary file: export it with journalctl -o json").
	Skipped []string
	// Sampled counts the files indexed by samples of their times
	// (sparse.go); ReadWhole names the files large enough for that which
	// were read whole instead, and why ("lines up to 20m0s out of order").
	Sampled   int
	ReadWhole []string
}

// Set is a group of indexed logs. Its methods are safe for concurrent use.
type Set struct {
	opts  Options
	files []*file
	stats Stats

	mu    sync.Mutex
	cache blockCache
	// seen[j] == epoch marks line j of the block Near is visiting.
	seen  []uint32
	epoch uint32
	// lr reads the blocks load parses (its 64 KiB buffer made once).
	lr *lineReader
}

// Open reads and indexes logs: files, directories (every regular file
// under them, sorted), gzip-compressed or not. A file that cannot be read
// is an error naming it; a binary file met inside a directory is skipped
// and listed in Stats.Skipped.
func Open(paths []string, opts Options) (*Set, error) {
	s := &Set{opts: opts}
	s.cache.max = cacheBlocks
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("log %s: %w", p, err)
		}
		if !st.IsDir() {
			if err := s.add(p, false); err != nil {
				s.Close()
				return nil, err
			}
			continue
		}
		var names []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				names = append(names, q)
			}
			return nil
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("log directory %s: %w", p, err)
		}
		sort.Strings(names)
		for _, q := range names {
			if err := s.add(q, true); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	return s, nil
}

// OpenReader indexes one log read from r (a command's output, standard
// input), named name; it is copied to a temporary file first so that
// queries can read it again.
func OpenReader(name string, r io.Reader, opts Options) (*Set, error) {
	s := &Set{opts: opts}
	s.cache.max = cacheBlocks
	f := &file{name: name, topts: opts.Time}
	if err := s.spool(f, r); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.index(f, false); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

var errBinary = errors.New("binary")

func (s *Set) add(p string, inDir bool) error {
	f := &file{name: p, path: p, topts: s.opts.Time}
	if st, err := os.Stat(p); err == nil && f.topts.Ref.IsZero() {
		f.topts.Ref = st.ModTime() // a log's last lines were written near it
	}
	if strings.HasSuffix(p, ".journal") || strings.HasSuffix(p, ".journal~") {
		s.stats.Skipped = append(s.stats.Skipped, p+": journald binary file: export it with journalctl -o json")
		return nil
	}
	in, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("log %s: %w", p, err)
	}
	var magic [2]byte
	n, _ := io.ReadFull(in, magic[:])
	if n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			in.Close()
			return fmt.Errorf("log %s: %w", p, err)
		}
		zr, err := gzip.NewReader(in)
		if err == nil {
			err = s.spool(f, zr)
		}
		in.Close()
		if err != nil {
			return fmt.Errorf("log %s: gzip: %w", p, err)
		}
	} else {
		in.Close()
	}
	if err := s.index(f, inDir); err != nil {
		if errors.Is(err, errBinary) {
			s.stats.Skipped = append(s.stats.Skipped, p+": binary, not a log")
			s.removeTemp(f)
			return nil
		}
		s.removeTemp(f)
		return err
	}
	return nil
}

// spool copies r to a temporary file that f then reads.
func (s *Set) spool(f *file, r io.Reader) error {
	tmp, err := os.CreateTemp(s.opts.TempDir, "rstscope-log-*")
	if err != nil {
		return err
	}
	f.path, f.temp = tmp.Name(), true
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.path)
		f.temp = false
	}
	return err
}

func (s *Set) removeTemp(f *file) {
	if f.temp {
		os.Remove(f.path)
		f.temp = false
	}
}

// binaryShare: a file whose first 4 KiB is more than a tenth NUL bytes is
// not a log (wtmp, lastlog, a core file); a log with a few NULs in a line
// is still read, with them escaped.
const binaryShare = 10

// index reads f once and records its blocks.
func (s *Set) index(f *file, sniff bool) error {
	in, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("log %s: %w", f.name, err)
	}
	defer in.Close()
	if sniff {
		head := make([]byte, 4096)
		n, _ := io.ReadFull(in, head)
		if n > 0 && bytes.Count(head[:n], []byte{0})*binaryShare > n {
			return errBinary
		}
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("log %s: %w", f.name, err)
		}
	}
	size, err := in.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("log %s: %w", f.name, err)
	}
	if size >= sparseFrom {
		why, err := f.sample(in, size)
		if err != nil {
			return fmt.Errorf("log %s: %w", f.name, err)
		}
		if why == "" {
			s.stats.Bytes += size
			s.stats.Files++
			s.stats.Sampled++
			s.files = append(s.files, f)
			return nil
		}
		s.stats.ReadWhole = append(s.stats.ReadWhole, f.name+": "+why)
		f.blocks = nil
	}
	cuts, err := splitLines(in, size, partsFor(size))
	if err != nil {
		return fmt.Errorf("log %s: %w", f.name, err)
	}
	parts := make([]part, len(cuts)-1)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Go(func() {
			parts[k] = f.scan(io.NewSectionReader(in, cuts[k], cuts[k+1]-cuts[k]), cuts[k])
		})
	}
	wg.Wait()
	var carry int64 // the last time before the part being stitched
	lines := 0
	for _, p := range parts {
		if p.err != nil {
			return fmt.Errorf("log %s: line %d: %w", f.name, lines+p.lines+1, p.err)
		}
		p.stitch(carry, lines)
		f.blocks = append(f.blocks, p.blocks...)
		lines += p.lines
		if p.last != 0 {
			carry = p.last
		}
		s.stats.Lines += p.lines
		s.stats.Timed += p.timed
		s.stats.Cut += p.cut
	}
	f.bounds()
	s.stats.Bytes += size
	s.stats.Files++
	s.files = append(s.files, f)
	return nil
}

// indexParts is how many goroutines index a file of size bytes: one per
// core for files of 64 MiB and more (below that a second goroutine saves
// under 0.1 s), at most 8.
func indexParts(size int64) int {
	if size < 64<<20 {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), 8)
}

// partsFor is indexParts; tests set it to compare a split index with a
// whole one.
var partsFor = indexParts

// splitLines cuts [0, size) into about n ranges that each begin a line.
func splitLines(r io.ReaderAt, size int64, n int) ([]int64, error) {
	cuts := []int64{0}
	buf := make([]byte, 4096)
	for k := 1; k < n; k++ {
		at := max(size*int64(k)/int64(n), cuts[len(cuts)-1])
		for at < size {
			m, err := r.ReadAt(buf, at)
			if i := bytes.IndexByte(buf[:m], '\n'); i >= 0 {
				at += int64(i) + 1
				break
			}
			at += int64(m)
			if err == io.EOF {
				at = size
			} else if err != nil {
				return nil, err
			}
		}
		if at < size && at > cuts[len(cuts)-1] {
			cuts = append(cuts, at)
		}
	}
	return append(cuts, size), nil
}

// part is what one goroutine's scan of a range of a file found: its
// blocks, with line numbers counted from the range's start and times
// inherited only from lines inside it.
type part struct {
	blocks            []block
	lines, timed, cut int
	first             int   // index of the block holding the first timed line; len(blocks) when none
	last              int64 // the range's last time; 0 none
	err               error
}

// timedBefore says a line before block i of the part had a time.
func (p *part) timedBefore(i int) bool { return i > p.first }

// stitch completes the part's blocks, which begin after line base of the
// file and after a line with time carry (0 none): until its first time a
// part's lines inherit the time before it, which only the parts before it
// know.
func (p *part) stitch(carry int64, base int) {
	for i := range p.blocks {
		b := &p.blocks[i]
		b.line += base
		b.exact = true
		if b.prev == 0 && !p.timedBefore(i) {
			b.prev = carry
			if carry != 0 && b.lead {
				b.min, b.max = min(b.min, carry), max(b.max, carry)
			}
		}
		if i < p.first {
			b.last = carry
		}
	}
}

// scan indexes the lines of r, which starts at offset off of f.
func (f *file) scan(r io.Reader, off int64) part {
	var p part
	topts := f.topts.withCache()
	lr := newLineReader(r, off, 0)
	var prev int64
	cur := block{off: off, min: 1<<63 - 1, max: -1 << 63}
	p.first = -1
	for {
		line, cut, start, err := lr.next()
		if err != nil {
			if err != io.EOF {
				p.err = err
				return p
			}
			break
		}
		if start-cur.off >= blockSize {
			cur.end, cur.last = start, prev
			p.blocks = append(p.blocks, cur)
			cur = block{off: start, line: lr.num - 1, prev: prev, min: 1<<63 - 1, max: -1 << 63}
		}
		p.lines++
		if cut > 0 {
			p.cut++
		}
		t, ok := ParseTime(line, &topts)
		ns := prev
		if ok {
			ns = t.UnixNano()
			prev = ns
			p.timed++
			if p.first < 0 {
				p.first = len(p.blocks)
			}
		} else if prev == 0 {
			cur.lead = true // inherits from before the range
		}
		if ns != 0 {
			cur.min, cur.max = min(cur.min, ns), max(cur.max, ns)
		}
	}
	cur.end, cur.last = lr.off, prev
	if cur.end > cur.off {
		p.blocks = append(p.blocks, cur)
	}
	if p.first < 0 {
		p.first = len(p.blocks)
	}
	p.last = prev
	return p
}

// Stats returns what Open read.
func (s *Set) Stats() Stats { return s.stats }

// Close removes the temporary copies and closes what queries left open.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.counter != nil {
			f.counter.f.Close()
			f.counter = nil
		}
		s.removeTemp(f)
	}
	return nil
}

// Lines calls fn for every line written between from and to (inclusive),
// file by file in the order given, each file's lines in order. The Line
// is the index's cached copy: fn must not modify it, and copies it to keep
// it (the callback runs for every line near every reset, so it is not
// copied for fn).
func (s *Set) Lines(from, to time.Time, fn func(*Line)) error {
	lo, hi := from.UnixNano(), to.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.prepare(lo, hi); err != nil {
		return err
	}
	s.fit(lo, hi)
	for _, f := range s.files {
		for i := range f.overlapping(lo, hi) {
			c, err := s.load(f, i)
			if err != nil {
				return err
			}
			for j, ns := range c.ns {
				if ns != 0 && ns >= lo && ns <= hi {
					fn(&c.lines[j])
				}
			}
		}
	}
	return nil
}

// load parses one block's lines, through the cache.
func (s *Set) load(f *file, i int) (*cached, error) {
	if c, ok := s.cache.get(f, i); ok {
		return c, nil
	}
	b := &f.blocks[i]
	num, err := f.lineOf(i)
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", f.name, err)
	}
	in, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", f.name, err)
	}
	defer in.Close()
	if _, err := in.Seek(b.off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("log %s: %w", f.name, err)
	}
	// The block's lines, counted first (its own newlines, or the next
	// block's number): a slice grown line by line was half of what
	// parsing a block allocated.
	n := 0
	if i+1 < len(f.blocks) {
		next, err := f.lineOf(i + 1)
		if err != nil {
			return nil, fmt.Errorf("log %s: %w", f.name, err)
		}
		n = next - num
	}
	if s.lr == nil {
		s.lr = newLineReader(nil, 0, 0)
	}
	lr := s.lr
	lr.reset(io.LimitReader(in, b.end-b.off), b.off, num)
	lines := make([]Line, 0, n)
	prev := time.Time{}
	if b.prev != 0 {
		prev = time.Unix(0, b.prev).UTC()
	}
	for {
		raw, cut, _, err := lr.next()
		if err != nil {
			if err != io.EOF {
				return nil, fmt.Errorf("log %s: line %d: %w", f.name, lr.num+1, err)
			}
			break
		}
		l := parseLine(raw, cut, &f.topts, prev)
		l.File, l.Num = f.name, lr.num
		if !l.Inherited {
			prev = l.Time
		}
		lines = append(lines, l)
	}
	return s.cache.put(f, i, lines), nil
}

// cacheBlocks is how many parsed blocks are kept: resets come roughly in
// time order, so the blocks around the last few are what the next needs;
// 32 blocks of 64 KiB bound the cache near 4 MB of text.
const cacheBlocks = 32

// maxCacheBlocks bounds the cache when one query needs more blocks than
// cacheBlocks (see fit): 512 blocks are 32 MiB of text.
const maxCacheBlocks = 512

// fit grows the cache to hold a query of need blocks plus cacheBlocks.
// Without it a query wider than the cache, visited block by block in
// order, evicts the blocks the next query (the next reset, a moment later)
// needs first, and every block is parsed again for every reset: a 1 GB
// log whose lines are written up to 5 s late (a block's times then span
// 5 s, so a ±2 s window overlaps ~45 blocks) took 808 s to join to the
// bench capture with 32 blocks, 94 % of it re-parsing.
func (c *blockCache) fit(need int) {
	c.max = min(max(c.max, need+cacheBlocks), maxCacheBlocks)
}

type blockKey struct {
	f *file
	i int
}

type blockCache struct {
	max    int
	tick   uint64
	misses int // blocks parsed, for tests
	items  map[blockKey]*cached
}

type cached struct {
	lines []Line
	used  uint64
	// byAddr lists the lines naming each address (as ip:port, bare, or in
	// a->b), anon those naming none, proxy haproxy's session lines: Near
	// visits only these instead of every line of the block.
	byAddr      map[netip.Addr][]int32
	anon, proxy []int32
	// ns is each line's time in Unix ns, 0 for none: a query tests every
	// line of a block against its window, and reading the times from here
	// rather than from each Line (hundreds of bytes apart) was a sixth of
	// Near's time joining a 1 GB log to the bench capture.
	ns []int64
}

func newCached(lines []Line) *cached {
	c := &cached{lines: lines, byAddr: make(map[netip.Addr][]int32), ns: make([]int64, len(lines))}
	for i := range lines {
		l := &lines[i]
		n := int32(i)
		if !l.Time.IsZero() {
			c.ns[i] = l.Time.UnixNano()
		}
		if l.HAProxyState != "" {
			c.proxy = append(c.proxy, n)
		}
		if len(l.Ports) == 0 && len(l.IPs) == 0 {
			c.anon = append(c.anon, n)
			continue
		}
		add := func(a netip.Addr) {
			a = a.Unmap()
			if ls := c.byAddr[a]; len(ls) == 0 || ls[len(ls)-1] != n {
				c.byAddr[a] = append(ls, n)
			}
		}
		for _, p := range l.Ports {
			add(p.Addr())
		}
		for _, a := range l.IPs {
			add(a)
		}
	}
	return c
}

func (c *blockCache) get(f *file, i int) (*cached, bool) {
	it, ok := c.items[blockKey{f, i}]
	if !ok {
		return nil, false
	}
	c.tick++
	it.used = c.tick
	return it, true
}

func (c *blockCache) put(f *file, i int, lines []Line) *cached {
	if c.items == nil {
		c.items = make(map[blockKey]*cached)
	}
	if len(c.items) >= c.max {
		var oldest blockKey
		least := ^uint64(0)
		for k, it := range c.items {
			if it.used < least {
				oldest, least = k, it.used
			}
		}
		delete(c.items, oldest)
	}
	c.tick++
	c.misses++
	it := newCached(lines)
	it.used = c.tick
	c.items[blockKey{f, i}] = it
	return it
}

// Near calls fn, like Lines, for the lines between from and to that may
// concern a connection between the addresses in addrs: those naming one
// of them, those naming no address at all, and proxies' session lines
// (which name only a session's client). Lines naming only other addresses
// are skipped without being looked at.
func (s *Set) Near(from, to time.Time, addrs []netip.Addr, fn func(*Line)) error {
	lo, hi := from.UnixNano(), to.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.prepare(lo, hi); err != nil {
		return err
	}
	s.fit(lo, hi)
	var lists [][]int32
	for _, f := range s.files {
		for i := range f.overlapping(lo, hi) {
			c, err := s.load(f, i)
			if err != nil {
				return err
			}
			// The lines in the window on any of the lists, in line order:
			// stamping them and walking the block once replaced a sort of
			// the lists' concatenation (29 % of joining a 1 GB log to the
			// bench capture) and then a merge of them (16 %).
			if len(s.seen) < len(c.lines) {
				s.seen = make([]uint32, len(c.lines))
			}
			s.epoch++
			if s.epoch == 0 { // wrapped: old stamps could match
				clear(s.seen)
				s.epoch = 1
			}
			lists = append(lists[:0], c.anon, c.proxy)
			for _, a := range addrs {
				lists = append(lists, c.byAddr[a.Unmap()])
			}
			lo1, hi1 := len(c.lines), -1
			for _, ls := range lists {
				for _, j := range ls {
					if ns := c.ns[j]; ns != 0 && ns >= lo && ns <= hi {
						s.seen[j] = s.epoch
						lo1, hi1 = min(lo1, int(j)), max(hi1, int(j))
					}
				}
			}
			for j := lo1; j <= hi1; j++ {
				if s.seen[j] == s.epoch {
					fn(&c.lines[j])
				}
			}
		}
	}
	return nil
}

// Files returns the names of the files read, in order.
func (s *Set) Files() []string {
	var out []string
	for _, f := range s.files {
		out = append(out, f.name)
	}
	return out
}
