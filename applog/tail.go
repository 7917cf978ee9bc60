package applog

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tail follows logs as they grow, for watch: the lines written since it
// started, kept for a while. It survives rotation: a file renamed away
// (logrotate's default) is read to its end and the new file at the path
// from its start; a file truncated in place (copytruncate) is read again
// from its start. Directories are looked at again for new files.
type Tail struct {
	opts  Options
	paths []string
	// Keep is how long a line is kept after it was read; MaxLines bounds
	// the lines kept whatever their age.
	Keep     time.Duration
	MaxLines int

	mu       sync.Mutex
	files    map[string]*tailFile
	names    []string // of files, sorted: the order Lines visits them in
	lastScan time.Time
	// retired are files rotated away from a followed path: met again
	// under their new name in a followed directory, they are not new.
	retired []os.FileInfo
	ignored map[string]bool
}

type tailFile struct {
	path    string
	f       *os.File
	st      os.FileInfo // of f, to tell a new file at the path
	off     int64
	partial []byte
	cut     int
	num     int
	prev    time.Time
	topts   TimeOptions
	lines   []Line
	read    []time.Time // when each of lines was read
}

// tailRescan is how often directories are listed again for new files.
const tailRescan = time.Second

// Follow starts following paths (files or directories). Lines already in
// the files are skipped (but counted, so line numbers are the files'); a
// file that appears later in a directory is read from its start. A path
// that does not exist is an error naming it.
func Follow(paths []string, opts Options) (*Tail, error) {
	t := &Tail{opts: opts, paths: paths, Keep: time.Minute, MaxLines: 1 << 18, files: map[string]*tailFile{}}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Close()
			return nil, fmt.Errorf("log %s: %w", p, err)
		}
	}
	if err := t.scan(time.Now(), true); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// scan finds the files under t's paths and opens new ones.
func (t *Tail) scan(now time.Time, initial bool) error {
	t.lastScan = now
	for _, p := range t.paths {
		st, err := os.Stat(p)
		if err != nil {
			continue // rotated away for now: the next scan finds it
		}
		if !st.IsDir() {
			if err := t.open(p, initial); err != nil && initial {
				return err
			}
			continue
		}
		filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || !tailable(q) {
				return nil
			}
			if err := t.open(q, initial); err != nil && initial {
				return err
			}
			return nil
		})
	}
	return nil
}

// tailable: compressed and journald binary files are rotated-away logs,
// not logs being written.
func tailable(p string) bool {
	for _, s := range []string{".gz", ".journal", ".journal~", ".xz", ".zst", ".bz2"} {
		if strings.HasSuffix(p, s) {
			return false
		}
	}
	return true
}

func (t *Tail) open(p string, atEnd bool) error {
	if _, ok := t.files[p]; ok || t.ignored[p] {
		return nil
	}
	if st, err := os.Stat(p); err == nil && !atEnd {
		known := t.retired
		for _, tf := range t.files {
			known = append(known[:len(known):len(known)], tf.st)
		}
		for _, o := range known {
			if os.SameFile(o, st) {
				if t.ignored == nil {
					t.ignored = map[string]bool{}
				}
				t.ignored[p] = true
				return nil
			}
		}
	}
	back := int64(-1) // a new file: all of it
	if atEnd {
		back = 0
	}
	return t.follow(p, back)
}

// Add follows one more file (a socket owner's log, found while watching),
// from back bytes before its end (from the start of the first whole line
// there), so that lines written just before it was found are read too.
func (t *Tail) Add(p string, back int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.files[p]; ok {
		return nil
	}
	return t.follow(p, max(0, back))
}

func (t *Tail) follow(p string, back int64) error {
	tf := &tailFile{path: p, topts: t.opts.Time}
	if err := tf.reopen(back); err != nil {
		return fmt.Errorf("log %s: %w", p, err)
	}
	t.files[p] = tf
	t.names = append(t.names, p)
	sort.Strings(t.names)
	return nil
}

// reopen opens the file now at tf's path, back bytes before its end
// (counting the lines before, so numbers are the file's), or at its start
// when back < 0.
func (tf *tailFile) reopen(back int64) error {
	f, err := os.Open(tf.path)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if tf.f != nil {
		tf.f.Close()
	}
	tf.f, tf.st, tf.off, tf.num, tf.partial, tf.cut = f, st, 0, 0, tf.partial[:0], 0
	if tf.topts.Ref.IsZero() {
		tf.topts.Ref = st.ModTime()
	}
	if back >= 0 {
		// Count the lines before the start, so that numbers are the file's.
		start := max(0, st.Size()-back)
		buf := make([]byte, 1<<20)
		for tf.off < start {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), start-tf.off)], tf.off)
			tf.num += bytes.Count(buf[:n], []byte{'\n'})
			tf.off += int64(n)
			if err != nil {
				break
			}
		}
		if tf.off > 0 {
			// A last line without its newline yet is skipped with the rest.
			var last [1]byte
			if _, err := f.ReadAt(last[:], tf.off-1); err == nil && last[0] != '\n' {
				tf.num++
				tf.cut = -1 // skip until the end of that line
			}
		}
	}
	return nil
}

// Poll reads what was written since the last Poll and drops lines read
// more than Keep ago. A file that cannot be read any more is kept until
// its path holds a file again.
func (t *Tail) Poll(now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastScan) >= tailRescan {
		t.scan(now, false)
	}
	var firstErr error
	for _, name := range t.names {
		tf := t.files[name]
		was := tf.st
		if err := tf.poll(now); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("log %s: %w", name, err)
		}
		if tf.st != was {
			t.retired = append(t.retired, was)
			if len(t.retired) > 64 {
				t.retired = t.retired[1:]
			}
		}
		tf.expire(now.Add(-t.Keep), t.MaxLines/max(1, len(t.names)))
	}
	return firstErr
}

func (tf *tailFile) poll(now time.Time) error {
	st, err := os.Stat(tf.path)
	switch {
	case err != nil:
		// Renamed away and not yet replaced: what the old file still
		// gets is read below.
	case !os.SameFile(st, tf.st):
		// Rotated: the rest of the old file, then the new one from its
		// start.
		if err := tf.readNew(now); err != nil {
			return err
		}
		tf.flushPartial(now)
		if err := tf.reopen(-1); err != nil {
			return err
		}
		return tf.readNew(now)
	case st.Size() < tf.off:
		// Truncated in place: its lines start again.
		tf.flushPartial(now)
		tf.off, tf.num, tf.cut = 0, 0, 0
	}
	return tf.readNew(now)
}

// readNew reads from tf.off to the file's end and makes lines of what
// ends in a newline; the rest waits in partial (at most maxRaw of it).
func (tf *tailFile) readNew(now time.Time) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := tf.f.ReadAt(buf, tf.off)
		tf.off += int64(n)
		data := buf[:n]
		for len(data) > 0 {
			k := bytes.IndexByte(data, '\n')
			chunk := data
			if k >= 0 {
				chunk = data[:k]
			}
			if tf.cut >= 0 {
				room := maxRaw - len(tf.partial)
				if len(chunk) > room {
					tf.partial = append(tf.partial, chunk[:room]...)
					tf.cut += len(chunk) - room
				} else {
					tf.partial = append(tf.partial, chunk...)
				}
			}
			if k < 0 {
				break
			}
			data = data[k+1:]
			tf.endLine(now)
		}
		if err == io.EOF || n == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// flushPartial makes a line of a last line without its newline, when its
// file ends for good (rotated, truncated).
func (tf *tailFile) flushPartial(now time.Time) {
	if len(tf.partial) > 0 {
		tf.endLine(now)
	}
}

func (tf *tailFile) endLine(now time.Time) {
	if tf.cut < 0 { // the tail of a line written before Follow
		tf.partial, tf.cut = tf.partial[:0], 0
		return
	}
	tf.num++
	raw := bytes.TrimSuffix(tf.partial, []byte("\r"))
	l := parseLine(raw, tf.cut, &tf.topts, tf.prev)
	l.File, l.Num = tf.path, tf.num
	if !l.Inherited {
		tf.prev = l.Time
	}
	tf.lines = append(tf.lines, l)
	tf.read = append(tf.read, now)
	tf.partial, tf.cut = tf.partial[:0], 0
}

// expire drops the lines read before old, and the oldest beyond max.
func (tf *tailFile) expire(old time.Time, max int) {
	k := sort.Search(len(tf.read), func(i int) bool { return !tf.read[i].Before(old) })
	k = maxInt(k, len(tf.lines)-max)
	if k > 0 {
		tf.lines = append(tf.lines[:0], tf.lines[k:]...)
		tf.read = append(tf.read[:0], tf.read[k:]...)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Lines calls fn for every kept line written between from and to
// (inclusive), file by file in order of name, each file's lines in order.
// The Line is the Tail's: fn copies what it keeps.
func (t *Tail) Lines(from, to time.Time, fn func(*Line)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, name := range t.names {
		tf := t.files[name]
		for i := range tf.lines {
			l := &tf.lines[i]
			if !l.Time.IsZero() && !l.Time.Before(from) && !l.Time.After(to) {
				fn(l)
			}
		}
	}
}

// Close closes the files.
func (t *Tail) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tf := range t.files {
		if tf.f != nil {
			tf.f.Close()
		}
	}
	return nil
}
