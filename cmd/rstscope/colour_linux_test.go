package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what is written to tty is read back
// from master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pty: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// TestColourTerminal: the text report is coloured on a terminal, not when
// NO_COLOR is set, never in a pipe unless --color always says so.
func TestColourTerminal(t *testing.T) {
	sample := captureFile(t, "lo-resets.pcap")
	onTTY := func(args ...string) string {
		master, tty := openPTY(t)
		got := make(chan string)
		go func() {
			var b bytes.Buffer
			io.Copy(&b, master) // ends with EIO once the tty side is closed
			got <- b.String()
		}()
		err := run(context.Background(), append([]string{"analyze"}, append(args, sample)...), tty, io.Discard)
		tty.Close()
		if err != nil {
			t.Fatal(err)
		}
		return <-got
	}
	inPipe := func(args ...string) string {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string)
		go func() { b, _ := io.ReadAll(r); got <- string(b) }()
		err = run(context.Background(), append([]string{"analyze"}, append(args, sample)...), w, io.Discard)
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		return <-got
	}
	t.Setenv("NO_COLOR", "")
	if out := onTTY(); !strings.Contains(out, "\x1b[") {
		t.Errorf("no colour on a terminal:\n%q", out)
	}
	if out := onTTY("--color", "never"); strings.Contains(out, "\x1b[") {
		t.Errorf("colour on a terminal with --color never")
	}
	if out := inPipe(); strings.Contains(out, "\x1b[") || !strings.Contains(out, "resets") {
		t.Errorf("colour (or no report) in a pipe:\n%q", out)
	}
	if out := inPipe("--color", "always"); !strings.Contains(out, "\x1b[") {
		t.Errorf("no colour in a pipe with --color always")
	}
	t.Setenv("NO_COLOR", "1")
	if out := onTTY(); strings.Contains(out, "\x1b[") {
		t.Errorf("colour on a terminal with NO_COLOR set:\n%q", out)
	}
}

// TestProgressOnlyOnTerminal: progress goes to a terminal's stderr, and not
// when the report goes into a pipe (a pager would be drawn over).
func TestProgressOnlyOnTerminal(t *testing.T) {
	_, tty := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, tc := range []struct {
		name        string
		stderr, out io.Writer
		want        bool
	}{
		{"terminal, output to a file", tty, file, true},
		{"terminal, output to the terminal", tty, tty, true},
		{"terminal, output into a pipe", tty, w, false},
		{"stderr a pipe", w, file, false},
		{"stderr a buffer", &bytes.Buffer{}, file, false},
	} {
		if got := newProgress(tc.stderr, tc.out).on; got != tc.want {
			t.Errorf("%s: progress on = %v, want %v", tc.name, got, tc.want)
		}
	}
}
