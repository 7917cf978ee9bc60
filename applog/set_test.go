package applog

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// collect returns "file:line text" for every line in [from, to].
func collect(t *testing.T, s *Set, from, to time.Time) []string {
	t.Helper()
	var out []string
	if err := s.Lines(from, to, func(l *Line) {
		out = append(out, fmt.Sprintf("%s:%d %s", filepath.Base(l.File), l.Num, l.Text))
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSetDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "nginx", "error.log"), []byte(
		"2026/11/30 05:00:00 [notice] 1#1: start\n"+
			"2026/11/30 05:00:01 [error] 9#9: *1 recv() failed (104: Connection reset by peer)\n"+
			"2026/11/30 05:00:09 [notice] 1#1: later\n"))
	write(t, filepath.Join(dir, "nginx", "access.log.1.gz"), gz(t,
		"10.0.0.1 - - [30/Nov/2026:05:00:01 +0000] \"GET / HTTP/1.1\" 499 0 \"-\" \"-\"\n"))
	write(t, filepath.Join(dir, "journal.json"), []byte(
		`{"__REALTIME_TIMESTAMP":"1796014801500000","_SYSTEMD_UNIT":"api.service","MESSAGE":"read: connection reset by peer"}`+"\n"))
	write(t, filepath.Join(dir, "app.log"), []byte(
		"2026-11-30 05:00:01,100 ERROR handler failed\n"+
			"Traceback (most recent call last):\n"+
			"ConnectionResetError: [Errno 104] Connection reset by peer\n"))
	write(t, filepath.Join(dir, "wtmp"), bytes.Repeat([]byte{0, 0, 0, 7}, 2000))
	write(t, filepath.Join(dir, "system.journal"), []byte("LPKSHHRH"))

	s, err := Open([]string{dir}, Options{Time: TimeOptions{Loc: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 30, 5, 0, 1, 0, time.UTC)
	got := collect(t, s, at.Add(-900*time.Millisecond), at.Add(900*time.Millisecond))
	want := []string{
		"app.log:1 2026-11-30 05:00:01,100 ERROR handler failed",
		"app.log:2 Traceback (most recent call last):",
		"app.log:3 ConnectionResetError: [Errno 104] Connection reset by peer",
		"journal.json:1 api.service: read: connection reset by peer",
		"access.log.1.gz:1 10.0.0.1 - - [30/Nov/2026:05:00:01 +0000] \"GET / HTTP/1.1\" 499 0 \"-\" \"-\"",
		"error.log:2 2026/11/30 05:00:01 [error] 9#9: *1 recv() failed (104: Connection reset by peer)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st := s.Stats()
	if st.Files != 4 || len(st.Skipped) != 2 {
		t.Errorf("got %d files read, skipped %v; want 4 read, wtmp and system.journal skipped", st.Files, st.Skipped)
	}
}

func TestSetMissingFile(t *testing.T) {
	_, err := Open([]string{"/nonexistent/x.log"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/x.log") {
		t.Errorf("got %v, want an error naming the file", err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "bad.gz"), []byte{0x1f, 0x8b, 1, 2, 3})
	_, err = Open([]string{filepath.Join(dir, "bad.gz")}, Options{})
	if err == nil || !strings.Contains(err.Error(), "bad.gz: gzip") {
		t.Errorf("got %v, want a gzip error naming the file", err)
	}
}

// TestSetManyBlocks spans many index blocks, with lines slightly out of
// order (as a busy server's are), and checks a query finds exactly the lines
// in its window.
func TestSetManyBlocks(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	const n = 20000
	for i := range n {
		ts := base.Add(time.Duration(i) * 10 * time.Millisecond)
		if i%7 == 3 {
			ts = ts.Add(-300 * time.Millisecond) // a slow request logged late
		}
		fmt.Fprintf(&b, "%s line %d padding padding padding padding padding padding\n", ts.Format("2006-01-02T15:04:05.000Z07:00"), i)
	}
	write(t, filepath.Join(dir, "big.log"), b.Bytes())
	s, err := Open([]string{filepath.Join(dir, "big.log")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.files[0].blocks) < 10 {
		t.Fatalf("got %d blocks, want many", len(s.files[0].blocks))
	}
	from, to := base.Add(100*time.Second), base.Add(101*time.Second)
	got := 0
	s.Lines(from, to, func(l *Line) {
		if l.Time.Before(from) || l.Time.After(to) {
			t.Errorf("line %d at %v outside the window", l.Num, l.Time)
		}
		got++
	})
	want := 0
	for i := range n {
		ts := base.Add(time.Duration(i) * 10 * time.Millisecond)
		if i%7 == 3 {
			ts = ts.Add(-300 * time.Millisecond)
		}
		if !ts.Before(from) && !ts.After(to) {
			want++
		}
	}
	if got != want {
		t.Errorf("got %d lines in the window, want %d", got, want)
	}
}

// TestHostileLines: a 10 MB line, NULs, terminal escapes and invalid UTF-8
// cost bounded memory and come out escaped.
func TestHostileLines(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	b.WriteString("2026/11/30 05:00:01 [error] " + strings.Repeat("A", 10<<20) + "\n")
	b.WriteString("2026/11/30 05:00:01 [error] nul\x00nul \x1b]0;pwned\x07 \x1b[2J \xff\xfe invalid \u202eevil\n")
	b.WriteString(strings.Repeat("\x00", 100) + "\n")
	b.WriteString("2026/11/30 05:00:01 {\"unterminated json\n")
	write(t, filepath.Join(dir, "hostile.log"), b.Bytes())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := Open([]string{filepath.Join(dir, "hostile.log")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 30, 5, 0, 1, 0, time.UTC)
	var lines []Line
	s.Lines(at.Add(-time.Second), at.Add(time.Second), func(l *Line) { lines = append(lines, *l) })
	runtime.ReadMemStats(&after)
	// Reading buffers (64 KiB) and parsed blocks: allocations well under
	// the 10 MB line. Measured here: 0.34 MB.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes", alloc)
	if alloc > 2<<20 {
		t.Errorf("allocated %d bytes reading a 10 MB line, want under 2 MiB", alloc)
	}
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4", len(lines))
	}
	if l := lines[0].Text; len(l) > MaxText+40 || !strings.HasSuffix(l, "bytes cut]") {
		t.Errorf("long line: got %d bytes ending %q, want it cut to %d", len(l), l[max(0, len(l)-30):], MaxText)
	}
	want := `2026/11/30 05:00:01 [error] nul\x00nul \x1b]0;pwned\x07 \x1b[2J \xff\xfe invalid \u202eevil`
	if lines[1].Text != want {
		t.Errorf("escapes: got %q, want %q", lines[1].Text, want)
	}
	for _, l := range lines {
		for _, c := range []byte(l.Text) {
			if c < 0x20 || c == 0x7f {
				t.Errorf("line %d keeps control byte %#x", l.Num, c)
			}
		}
	}
}

func BenchmarkIndex(b *testing.B) {
	dir := b.TempDir()
	var buf bytes.Buffer
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	lines := 0
	for i := 0; buf.Len() < 32<<20; i++ {
		ts := base.Add(time.Duration(i) * time.Millisecond)
		switch i % 3 {
		case 0:
			fmt.Fprintf(&buf, "10.0.%d.%d - - [%s] \"GET /api/v1/items/%d HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\"\n", i>>8&255, i&255, ts.Format("02/Jan/2006:15:04:05 -0700"), i)
		case 1:
			fmt.Fprintf(&buf, "%s [error] 9#9: *%d recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.0.0.1, upstream: \"http://10.0.0.2:8080/\"\n", ts.Format("2006/01/02 15:04:05"), i)
		case 2:
			fmt.Fprintf(&buf, "10.0.0.1:%d [%s] fe be/s1 0/0/1/-1/5 200 100 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n", 1024+i%60000, ts.Format("02/Jan/2006:15:04:05.000"))
		}
		lines++
	}
	path := filepath.Join(dir, "mixed.log")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := Open([]string{path}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

func TestSetNear(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "mixed.log"), []byte(
		"2026/11/30 05:00:01 read tcp 10.0.0.3:8080->10.0.0.1:5000: read: connection reset by peer\n"+
			"2026/11/30 05:00:01 read tcp 10.0.0.3:8080->10.0.0.9:5000: read: connection reset by peer\n"+
			"2026/11/30 05:00:01 no address here\n"+
			"10.0.0.7:4000 [30/Nov/2026:05:00:01.000] fe be/s1 0/0/1/-1/5 504 0 - - sH-- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n"+
			"2026/11/30 05:00:01 client: ::ffff:10.0.0.1 mapped\n"+
			"2026/11/30 05:00:09 read tcp 10.0.0.3:8080->10.0.0.1:5000: later\n"))
	s, err := Open([]string{filepath.Join(dir, "mixed.log")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 30, 5, 0, 1, 0, time.UTC)
	var got []int
	s.Near(at.Add(-time.Second), at.Add(time.Second), []netip.Addr{netip.MustParseAddr("10.0.0.1")}, func(l *Line) { got = append(got, l.Num) })
	if want := []int{1, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("got lines %v, want %v (naming 10.0.0.1, naming nothing, haproxy's)", got, want)
	}
}

// TestCacheFitsWideQuery: a query overlapping more blocks than cacheBlocks
// (lines written up to 5 s late widen every block's span) leaves the cache
// able to hold all of them, so the next reset's query a moment later parses
// no block again.
func TestCacheFitsWideQuery(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	for i := range 400000 {
		ts := base.Add(time.Duration(i) * 100 * time.Microsecond)
		if i%20 == 7 {
			ts = ts.Add(-5 * time.Second)
		}
		fmt.Fprintf(&b, "%s line %d padding padding padding padding padding padding\n", ts.Format("2006-01-02T15:04:05.000Z07:00"), i)
	}
	write(t, filepath.Join(dir, "late.log"), b.Bytes())
	s, err := Open([]string{filepath.Join(dir, "late.log")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := base.Add(20 * time.Second)
	first, last := s.files[0].span(at.Add(-2*time.Second).UnixNano(), at.Add(2*time.Second).UnixNano())
	if last-first <= cacheBlocks {
		t.Fatalf("query spans %d blocks, want more than %d for this test", last-first, cacheBlocks)
	}
	s.Lines(at.Add(-2*time.Second), at.Add(2*time.Second), func(*Line) {})
	parsed := s.cache.misses
	s.Lines(at.Add(-1990*time.Millisecond), at.Add(2010*time.Millisecond), func(*Line) {})
	if again := s.cache.misses - parsed; again > 2 {
		t.Errorf("the next query parsed %d blocks, want at most 2 (the new ones)", again)
	}
}

// TestSplitIndex: a file indexed by several goroutines joins the same lines
// to every window as one read whole, with runs of lines without a time
// (stack traces) across the cuts and lines written out of order.
func TestSplitIndex(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	base := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	b.WriteString("untimed head line before any time\n")
	for i := range 60000 {
		ts := base.Add(time.Duration(i) * 5 * time.Millisecond)
		if r.IntN(20) == 0 {
			ts = ts.Add(-time.Duration(r.IntN(5000)) * time.Millisecond)
		}
		fmt.Fprintf(&b, "%s line %d padding padding padding\n", ts.Format("2006-01-02T15:04:05.000Z07:00"), i)
		if r.IntN(100) == 0 {
			for range 1 + r.IntN(2000) { // a long stack trace, sometimes across a cut
				b.WriteString("\tat java.net.SocketInputStream.read(SocketInputStream.java:210)\n")
			}
		}
	}
	path := filepath.Join(dir, "split.log")
	write(t, path, b.Bytes())
	open := func(parts int) *Set {
		t.Helper()
		partsFor = func(int64) int { return parts }
		defer func() { partsFor = indexParts }()
		s, err := Open([]string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	whole := open(1)
	defer whole.Close()
	for _, parts := range []int{2, 3, 7} {
		split := open(parts)
		defer split.Close()
		if whole.Stats().Lines != split.Stats().Lines || whole.Stats().Timed != split.Stats().Timed || whole.Stats().Bytes != split.Stats().Bytes {
			t.Errorf("%d parts: got stats %+v, want %+v", parts, split.Stats(), whole.Stats())
		}
		for w := range 100 {
			from := base.Add(time.Duration(w) * 3 * time.Second)
			to := from.Add(3*time.Second - 1)
			got, want := collect(t, split, from, to), collect(t, whole, from, to)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("%d parts, window at %v: got %d lines, want %d", parts, from, len(got), len(want))
			}
		}
	}
}
