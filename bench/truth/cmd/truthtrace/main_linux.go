// Command truthtrace records the kernel's TCP resets for the truth harness
// (bench/mktruth.sh): every tcp:tcp_send_reset and tcp:tcp_receive_reset
// event, read from a private tracefs instance while the run goes on, as a
// TSV of
//
//	time  event  src  dst  state  reason
//
// time is Unix seconds with nanoseconds (the instance's mono clock shifted by
// CLOCK_REALTIME − CLOCK_MONOTONIC read at the start, so it lines up with
// tcpdump's timestamps); src, dst, state and reason are as the tracepoint
// prints them (tcp_receive_reset has no state or reason: "-").
//
//	truthtrace -o events.tsv [-match 10.77.,fd77:]   (stops on SIGINT or SIGTERM)
//
// Only lines holding one of the -match strings are kept: the tracepoints are
// global, and other traffic on the host (other namespaces) would mix in.
// On exit it prints on stderr how many events it kept and how many the ring
// buffer overwrote (per_cpu/*/stats "overrun"), which must be 0 for a run
// whose every reset is to be scored.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const tracefs = "/sys/kernel/tracing"

func main() {
	out := flag.String("o", "", "output TSV")
	match := flag.String("match", "", "comma-separated strings; keep only event lines holding one of them (empty: keep all)")
	bufKB := flag.Int("buffer-kb", 8192, "per-CPU ring buffer of the instance, KiB")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "truthtrace: -o FILE is required")
		os.Exit(2)
	}
	if err := run(*out, *match, *bufKB); err != nil {
		fmt.Fprintf(os.Stderr, "truthtrace: %v\n", err)
		os.Exit(1)
	}
}

func run(out, match string, bufKB int) error {
	var keep [][]byte
	for _, m := range strings.Split(match, ",") {
		if m != "" {
			keep = append(keep, []byte(m))
		}
	}
	if _, err := os.Stat(filepath.Join(tracefs, "instances")); err != nil {
		if err := unix.Mount("tracefs", tracefs, "tracefs", 0, ""); err != nil {
			return fmt.Errorf("mounting tracefs: %w", err)
		}
	}
	dir := filepath.Join(tracefs, "instances", fmt.Sprintf("rsttruth-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating trace instance: %w", err)
	}
	defer func() {
		for _, ev := range []string{"tcp_send_reset", "tcp_receive_reset"} {
			os.WriteFile(filepath.Join(dir, "events", "tcp", ev, "enable"), []byte("0"), 0)
		}
		unix.Rmdir(dir)
	}()
	set := func(rel, v string) error {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(v), 0); err != nil {
			return fmt.Errorf("setting %s: %w", rel, err)
		}
		return nil
	}
	if err := set("trace_clock", "mono"); err != nil {
		return err
	}
	if err := set("buffer_size_kb", strconv.Itoa(bufKB)); err != nil {
		return err
	}
	// The offset from the mono clock to wall time, read as close together as
	// two clock reads allow (well under a microsecond apart).
	var mono, real unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	unix.ClockGettime(unix.CLOCK_REALTIME, &real)
	offset := time.Duration(real.Nano() - mono.Nano())

	fd, err := unix.Open(filepath.Join(dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening trace_pipe: %w", err)
	}
	defer unix.Close(fd)
	for _, ev := range []string{"tcp_send_reset", "tcp_receive_reset"} {
		if err := set(filepath.Join("events", "tcp", ev, "enable"), "1"); err != nil {
			return err
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	fmt.Fprintln(w, "time\tevent\tsrc\tdst\tstate\treason")
	fmt.Fprintln(os.Stderr, "truthtrace: recording")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	buf := make([]byte, 256<<10)
	var partial []byte
	var kept int
	var drainUntil time.Time
	for {
		if drainUntil.IsZero() {
			select {
			case <-sig:
				// The tracepoint fires before the packet leaves: give the
				// last events a moment, then read until the pipe is dry.
				drainUntil = time.Now().Add(300 * time.Millisecond)
			default:
			}
		}
		n, err := unix.Read(fd, buf)
		if n > 0 {
			data := append(partial, buf[:n]...)
			for {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					break
				}
				line := data[:i]
				data = data[i+1:]
				if len(keep) > 0 && !containsAny(line, keep) {
					continue
				}
				if row, ok := parse(string(line), offset); ok {
					w.WriteString(row)
					kept++
				}
			}
			partial = append(partial[:0], data...)
			continue
		}
		if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("reading trace_pipe: %w", err)
		}
		if !drainUntil.IsZero() && time.Now().After(drainUntil) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "truthtrace: kept %d events, ring buffer overruns %d\n", kept, overruns(dir))
	return nil
}

func containsAny(line []byte, keep [][]byte) bool {
	for _, k := range keep {
		if bytes.Contains(line, k) {
			return true
		}
	}
	return false
}

// parse turns one trace line, such as
//
//	<idle>-0 [001] ..s2. 1234.567890: tcp_send_reset: skbaddr=… skaddr=… src=10.77.0.2:8083 dest=10.77.0.1:40000 state=TCP_CLOSE reason=TCP_ABORT_ON_CLOSE
//	<idle>-0 [001] ..s2. 1234.567890: tcp_receive_reset: family=AF_INET sport=40000 dport=8083 saddr=10.77.0.1 daddr=10.77.0.2 saddrv6=… daddrv6=… sock_cookie=…
//
// into a TSV row.
func parse(line string, offset time.Duration) (string, bool) {
	var event, head, rest string
	for _, name := range []string{"tcp_send_reset", "tcp_receive_reset"} {
		if i := strings.Index(line, ": "+name+": "); i >= 0 {
			event, head, rest = name, line[:i], line[i+len(name)+4:]
			break
		}
	}
	if event == "" {
		return "", false
	}
	ts := head[strings.LastIndexByte(head, ' ')+1:]
	sec, frac, _ := strings.Cut(ts, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	if err1 != nil || err2 != nil {
		return "", false
	}
	t := time.Unix(0, 0).Add(time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond + offset)
	kv := map[string]string{}
	for _, f := range strings.Fields(rest) {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	src, dst, state, reason := kv["src"], kv["dest"], kv["state"], kv["reason"]
	if event == "tcp_receive_reset" {
		sa, da := kv["saddr"], kv["daddr"]
		if kv["family"] == "AF_INET6" {
			sa, da = "["+kv["saddrv6"]+"]", "["+kv["daddrv6"]+"]"
		}
		src, dst, state, reason = sa+":"+kv["sport"], da+":"+kv["dport"], "-", "-"
	}
	return fmt.Sprintf("%d.%09d\t%s\t%s\t%s\t%s\t%s\n", t.Unix(), t.Nanosecond(), event, src, dst, state, reason), true
}

// overruns sums the events the instance's ring buffers overwrote.
func overruns(dir string) int {
	total := 0
	cpus, _ := filepath.Glob(filepath.Join(dir, "per_cpu", "cpu*", "stats"))
	for _, p := range cpus {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "overrun: "); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total
}
