package applog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestTail follows a log through what logrotate and programs do to it:
// growth, a line written in two pieces, a rename and a new file at the
// path (lines written to the old one after the rename still count), a
// truncation in place, and a new file in a followed directory. Every line
// must come once, with its file's own line number.
func TestTail(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	at := func(sec int) string {
		return time.Date(2026, 11, 30, 5, 0, sec, 0, time.UTC).Format("2006-01-02T15:04:05Z")
	}
	appendTo := func(path, s string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	appendTo(p, at(0)+" before follow 1\n"+at(1)+" before follow 2\n"+at(2)+" half of a line ")
	tl, err := Follow([]string{p, dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	now := time.Now()
	poll := func() {
		t.Helper()
		now = now.Add(100 * time.Millisecond)
		if err := tl.Poll(now); err != nil {
			t.Fatal(err)
		}
	}
	appendTo(p, "written before follow too\n"+at(3)+" one\n"+at(4)+" two in ")
	poll()
	appendTo(p, "pieces\n")
	poll()
	// logrotate: rename, the program writes on to the old file, then
	// reopens the path.
	old := p + ".1"
	if err := os.Rename(p, old); err != nil {
		t.Fatal(err)
	}
	now = now.Add(tailRescan) // the directory is listed before the path is found gone
	poll()
	appendTo(old, at(5)+" after the rename, to the old file\n")
	poll()
	appendTo(p, at(6)+" new file line 1\n")
	poll()
	appendTo(p, at(7)+" new file line 2\n")
	poll()
	// copytruncate
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	poll()
	appendTo(p, at(8)+" after truncate\n")
	poll()
	other := filepath.Join(dir, "other.log")
	appendTo(other, at(9)+" a new file in the directory\n")
	now = now.Add(tailRescan)
	poll()
	appendTo(other+".gz", "not followed\n")
	now = now.Add(tailRescan)
	poll()

	var got []string
	tl.Lines(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), func(l *Line) {
		got = append(got, fmt.Sprintf("%s:%d %s", filepath.Base(l.File), l.Num, l.Text))
	})
	slices.Sort(got)
	want := []string{
		"app.log:1 2026-11-30T05:00:08Z after truncate",
		"app.log:4 2026-11-30T05:00:03Z one",
		"app.log:5 2026-11-30T05:00:04Z two in pieces",
		"app.log:6 2026-11-30T05:00:05Z after the rename, to the old file",
		"app.log:1 2026-11-30T05:00:06Z new file line 1",
		"app.log:2 2026-11-30T05:00:07Z new file line 2",
		"other.log:1 2026-11-30T05:00:09Z a new file in the directory",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got lines\n%q\nwant\n%q", got, want)
	}

	// Lines read long ago are dropped.
	now = now.Add(2 * tl.Keep)
	poll()
	n := 0
	tl.Lines(time.Time{}, time.Now().Add(time.Hour), func(*Line) { n++ })
	if n != 0 {
		t.Errorf("got %d lines kept after Keep, want 0", n)
	}
}

func TestFollowMissing(t *testing.T) {
	_, err := Follow([]string{filepath.Join(t.TempDir(), "nope.log")}, Options{})
	if err == nil {
		t.Fatal("got no error for a missing log")
	}
}

// TestTailAdd: a file added while following is read from a little before
// its end, from the first whole line there, with the file's line numbers.
func TestTailAdd(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "access.log")
	var text string
	for i := 1; i <= 5; i++ {
		text += fmt.Sprintf("2026-11-30T05:00:0%dZ line %d\n", i, i)
	}
	write(t, p, []byte(text))
	tl, err := Follow(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	// 40 bytes back is inside line 4 (each line is 29 bytes).
	if err := tl.Add(p, 40); err != nil {
		t.Fatal(err)
	}
	if err := tl.Poll(time.Now()); err != nil {
		t.Fatal(err)
	}
	var got []string
	tl.Lines(time.Time{}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), func(l *Line) { got = append(got, fmt.Sprintf("%d %s", l.Num, l.Text)) })
	want := []string{"5 2026-11-30T05:00:05Z line 5"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
