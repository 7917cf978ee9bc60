package applog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// withSparseFrom indexes files of at least n bytes by samples for the
// rest of the test.
func withSparseFrom(t *testing.T, n int64) {
	t.Helper()
	old := sparseFrom
	sparseFrom = n
	t.Cleanup(func() { sparseFrom = old })
}

// lateLog writes a log the way a busy server does: a line every 2 ms for
// 2 min in three formats, one line in 20 written up to 2 s late, stack
// traces without times, and two untimed lines at the head; and two lines
// written far later than the rest, which the samples miss (see
// TestSparseMatchesWhole): one at 05:01:00 written 25 s late, one at
// 05:01:03 written 17 s late. It returns the bytes, each line's time as
// written (the time a line without one inherits; zero before the first),
// indexed by line number, and the numbers of the two far late lines.
func lateLog(base time.Time) ([]byte, []time.Time, [2]int) {
	r := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	times := []time.Time{{}} // line numbers from 1
	var prev time.Time
	var far [2]int
	add := func(ts time.Time, s string) {
		b.WriteString(s)
		if !ts.IsZero() {
			prev = ts
		}
		times = append(times, prev)
	}
	add(time.Time{}, "log opened\n")
	add(time.Time{}, "\n")
	for i := range 60000 {
		ts := base.Add(time.Duration(i) * 2 * time.Millisecond)
		if r.IntN(20) == 0 {
			ts = ts.Add(-time.Duration(r.IntN(2000)) * time.Millisecond)
		}
		switch i {
		case 30000:
			ts = base.Add(time.Duration(i)*2*time.Millisecond - 25*time.Second)
			far[0] = len(times)
		case 31500:
			ts = base.Add(time.Duration(i)*2*time.Millisecond - 17*time.Second)
			far[1] = len(times)
		}
		switch i % 3 {
		case 0:
			add(ts, fmt.Sprintf("%s [error] 9#9: *%d recv() failed (104: Connection reset by peer), client: 10.0.0.1, upstream: \"http://10.0.0.2:8080/\"\n", ts.Format("2006/01/02 15:04:05.000"), i))
		case 1:
			add(ts, fmt.Sprintf("%s http: read tcp 10.0.0.2:8080->10.0.0.%d:%d: read: connection reset by peer\n", ts.Format("2006-01-02T15:04:05.000Z07:00"), 1+i%5, 1024+i))
		case 2:
			add(ts, fmt.Sprintf("10.0.0.3:%d [%s] fe be/s1 0/0/1/0/0 200 100 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n", 1024+i, ts.Format("02/Jan/2006:15:04:05.000")))
		}
		if r.IntN(100) == 0 {
			for range 1 + r.IntN(300) {
				add(time.Time{}, "\tat java.net.SocketInputStream.read(SocketInputStream.java:210)\n")
			}
		}
	}
	return b.Bytes(), times, far
}

// TestSparseMatchesWhole: a file indexed by samples of its times gives
// every window the lines it holds, as a whole read does, in windows spread
// over a file with lines written late and lines without a time, asked in no
// particular order; and it reads only part of the file's times to do it.
func TestSparseMatchesWhole(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	data, times, far := lateLog(base)
	path := filepath.Join(dir, "late.log")
	write(t, path, data)
	write(t, filepath.Join(dir, "gz", "late.log.gz"), gz(t, string(data)))

	open := func(from int64, p string) *Set {
		t.Helper()
		withSparseFrom(t, from)
		s, err := Open([]string{p}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	whole := open(1<<62, path)
	sampled := open(0, path)
	zipped := open(0, filepath.Join(dir, "gz", "late.log.gz"))
	// A sampled file's lines are not counted at Open (lineOf counts them
	// as far as the queries go): Stats counts only files read whole.
	if st := sampled.Stats(); st.Sampled != 1 || len(st.ReadWhole) != 0 || st.Lines != 0 || st.Bytes != int64(len(data)) {
		t.Fatalf("sampled stats %+v, want 1 file sampled, 0 lines counted, %d bytes", st, len(data))
	}
	if st := whole.Stats(); st.Sampled != 0 || st.Lines != len(times)-1 {
		t.Fatalf("whole stats %+v, want no file sampled, %d lines", st, len(times)-1)
	}

	// The samples missed the two lines written far late: the bounds allow
	// less than the 17 s the second needs.
	f := sampled.files[0]
	if f.late >= int64(17*time.Second) {
		t.Fatalf("the samples allow %v of disorder, want under 17 s for this test (did they catch a far late line?)", time.Duration(f.late))
	}
	// The window 05:00:45–05:00:47 (below): its blocks' bounds reach the
	// block of the first far late line (written at 05:01:00 with
	// 05:00:35), whose own time breaks them; the disorder allowed must
	// grow, or the second (written at 05:01:03 with 05:00:46), whose block
	// was out of reach, is missed.
	checkWindow := func(from, to time.Time) {
		t.Helper()
		var want []int
		for n, ts := range times {
			if !ts.IsZero() && !ts.Before(from) && !ts.After(to) {
				want = append(want, n)
			}
		}
		for _, c := range []struct {
			name string
			s    *Set
		}{{"whole", whole}, {"sampled", sampled}, {"gzip, sampled", zipped}} {
			var got []int
			if err := c.s.Lines(from, to, func(l *Line) {
				got = append(got, l.Num)
				if !l.Time.Equal(times[l.Num]) {
					t.Errorf("%s: line %d at %v, want %v", c.name, l.Num, l.Time, times[l.Num])
				}
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s, window %v–%v: got %d lines, want %d (first differing: %s)", c.name, from.Format("15:04:05.000"), to.Format("15:04:05.000"), len(got), len(want), firstDiff(got, want))
			}
		}
	}
	// A window far from them reads a fraction of the file's times.
	checkWindow(base.Add(10*time.Second), base.Add(12*time.Second))
	read := 0
	for _, b := range f.blocks {
		if b.exact {
			read++
		}
	}
	if read*3 > len(f.blocks) {
		t.Errorf("one 2 s window of a 120 s log read %d of %d blocks, want under a third", read, len(f.blocks))
	}
	// Nor did it count the lines after its blocks.
	if f.counted*3 > len(f.blocks) {
		t.Errorf("one 2 s window of a 120 s log counted the lines of %d of %d blocks, want under a third", f.counted, len(f.blocks))
	}
	if want := base.Add(46 * time.Second); !times[far[1]].Equal(want) || !times[far[0]].Equal(want.Add(-11*time.Second)) {
		t.Fatalf("far late lines at %v and %v, want 05:00:35 and 05:00:46", times[far[0]], times[far[1]])
	}
	checkWindow(base.Add(45*time.Second), base.Add(47*time.Second))

	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range r.Perm(50)[:30] {
		from := base.Add(time.Duration(k)*2500*time.Millisecond - 3*time.Second + time.Duration(r.IntN(1000))*time.Millisecond)
		to := from.Add(time.Duration(500+r.IntN(4000)) * time.Millisecond)
		checkWindow(from, to)
		// Near, through the same blocks: lines naming 10.0.0.1 or nothing.
		addrs := []netip.Addr{netip.MustParseAddr("10.0.0.1")}
		var a, b []string
		whole.Near(from, to, addrs, func(l *Line) { a = append(a, fmt.Sprint(l.Num)) })
		sampled.Near(from, to, addrs, func(l *Line) { b = append(b, fmt.Sprint(l.Num)) })
		if strings.Join(a, " ") != strings.Join(b, " ") {
			t.Fatalf("Near, window at %v: sampled gave %d lines, whole %d", from, len(b), len(a))
		}
	}
	// The end of the log: its lines, up to the last the test wrote, have
	// their numbers (counted on from the windows above).
	checkWindow(base.Add(118*time.Second), base.Add(121*time.Second))
	if f.counted != len(f.blocks)-1 {
		t.Errorf("after the log's last window, %d of %d blocks have their line numbers, want all", f.counted+1, len(f.blocks))
	}
}

func firstDiff(a, b []int) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("line %d against %d", a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}

// TestSparseFarOutOfOrder: a file whose sampled times jump back by far
// more than their span allows (two logs concatenated newest first) is read
// whole, and Stats says so.
func TestSparseFarOutOfOrder(t *testing.T) {
	withSparseFrom(t, 0)
	dir := t.TempDir()
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	for _, h := range []time.Duration{time.Hour, 0} {
		for i := range 20000 {
			fmt.Fprintf(&b, "%s line %d padding padding\n", base.Add(h+time.Duration(i)*100*time.Millisecond).Format(time.RFC3339Nano), i)
		}
	}
	path := filepath.Join(dir, "rotated.log")
	write(t, path, b.Bytes())
	s, err := Open([]string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := s.Stats()
	if st.Sampled != 0 || len(st.ReadWhole) != 1 || !strings.Contains(st.ReadWhole[0], "out of order") {
		t.Fatalf("got stats %+v, want the file read whole for being out of order", st)
	}
	at := base.Add(45 * time.Minute)
	if got := len(collect(t, s, at, at.Add(time.Second))); got != 0 {
		t.Errorf("got %d lines in the gap between the two logs, want 0", got)
	}
	if got := len(collect(t, s, base.Add(10*time.Second), base.Add(11*time.Second))); got != 11 {
		t.Errorf("got %d lines in a second of the second log, want 11", got)
	}
}

// TestSparseOddLines: lines longer than a block and than the sampler's
// buffer, CRLF endings, empty lines and a last line without its newline
// are counted and read as a whole read counts and reads them.
func TestSparseOddLines(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	lines := 0
	for i := range 40000 {
		ts := base.Add(time.Duration(i) * 10 * time.Millisecond)
		switch {
		case i%5000 == 17:
			// Longer than maxRaw and a block; the longest longer than the
			// sampler's 4 MiB buffer.
			n := 200 << 10
			if i == 20017 {
				n = 5 << 20
			}
			fmt.Fprintf(&b, "%s long %s\n", ts.Format(time.RFC3339Nano), strings.Repeat("x", n))
		case i%7 == 3:
			fmt.Fprintf(&b, "%s crlf line %d\r\n", ts.Format(time.RFC3339Nano), i)
		case i%11 == 5:
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, "%s line %d\n", ts.Format(time.RFC3339Nano), i)
		}
		lines++
	}
	b.WriteString(base.Add(400*time.Second).Format(time.RFC3339Nano) + " last line, no newline")
	lines++
	path := filepath.Join(dir, "odd.log")
	write(t, path, b.Bytes())
	open := func(from int64) *Set {
		t.Helper()
		withSparseFrom(t, from)
		s, err := Open([]string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	whole, sampled := open(1<<62), open(0)
	if st := sampled.Stats(); st.Sampled != 1 || st.Lines != 0 {
		t.Fatalf("sampled: got %+v, want 1 file sampled, its lines not counted", st)
	}
	if st := whole.Stats(); st.Lines != lines {
		t.Fatalf("whole: got %d lines, want %d", st.Lines, lines)
	}
	for _, at := range []time.Duration{0, 50170 * time.Millisecond, 200170 * time.Millisecond, 250 * time.Second, 399 * time.Second} {
		from := base.Add(at - time.Second)
		to := from.Add(2 * time.Second)
		got, want := collect(t, sampled, from, to), collect(t, whole, from, to)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) == 0 {
			t.Errorf("window at %v: sampled gave %d lines, whole %d", at, len(got), len(want))
		}
		if at == 399*time.Second && (len(got) == 0 || !strings.HasPrefix(got[len(got)-1], fmt.Sprintf("odd.log:%d ", lines))) {
			t.Errorf("the last line, without its newline: got %q, want line %d", got[max(len(got)-1, 0):], lines)
		}
	}
}

// TestSparseTruncated: a sampled log cut short after Open (rotated with
// copytruncate) makes a later query fail with one error naming the file
// and saying it changed: its lines past the cut are counted only then.
func TestSparseTruncated(t *testing.T) {
	withSparseFrom(t, 0)
	dir := t.TempDir()
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	data, _, _ := lateLog(base)
	path := filepath.Join(dir, "cut.log")
	write(t, path, data)
	s, err := Open([]string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Truncate(path, int64(len(data)/3)); err != nil {
		t.Fatal(err)
	}
	err = s.Lines(base.Add(100*time.Second), base.Add(101*time.Second), func(*Line) {})
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, errChanged) {
		t.Fatalf("got %v, want an error naming %s that says it changed", err, path)
	}
}
