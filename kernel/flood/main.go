//go:build linux

// Command flood measures how many resets per second `rstscope watch` keeps
// up with: it makes a throwaway network namespace, starts the watcher on it
// as a child process, sends SYNs from a raw socket to a closed port on
// loopback at a set rate (each one makes the kernel send one RST with
// reason NO_SOCKET), and reports events received, events lost, and the
// watcher's CPU time (getrusage of the child) and the eBPF programs' own
// run time (kernel.bpf_stats_enabled).
//
//	go build -o /tmp/rstscope ./cmd/rstscope
//	go run ./kernel/flood -rstscope /tmp/rstscope -n 200000 -rates 10000,50000,100000,0
//	go run ./kernel/flood -rstscope /tmp/rstscope -n 200000 -rates 0 -senders 2 -progs
//
// -progs adds each eBPF program's runs and time per reset; -watch-args
// passes more flags to the watch (--cpuprofile FILE). docs/watch.md has
// the figures.
//
// Rate 0 means as fast as one sender goes. Bounded: -n SYNs per step, and
// each step gives up after -timeout. Needs root.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

var (
	senders = 1
	ringMiB = 8
	progs   bool
	extra   []string
)

func main() {
	bin := flag.String("rstscope", "rstscope", "path to the rstscope binary; none: measure the flood alone")
	n := flag.Int("n", 100000, "SYNs per step")
	rates := flag.String("rates", "10000,50000,100000,0", "comma-separated SYN rates per second; 0 = unpaced")
	format := flag.String("format", "ndjson", "watch output format")
	timeout := flag.Duration("timeout", 30*time.Second, "give up on a step after this long")
	flag.IntVar(&senders, "senders", 1, "sending threads (the rate is split between them)")
	flag.IntVar(&ringMiB, "ring-mib", 8, "watch --ring-mib")
	watchArgs := flag.String("watch-args", "", "more arguments for rstscope watch, space-separated (e.g. \"--cpuprofile /tmp/watch.prof\")")
	flag.BoolVar(&progs, "progs", false, "also print each eBPF program's runs and run time per reset (bpf_stats)")
	flag.Parse()
	extra = strings.Fields(*watchArgs)
	if err := run(*bin, *n, *rates, *format, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

func run(bin string, n int, rates, format string, timeout time.Duration) error {
	name := fmt.Sprintf("rstscope-watch-flood-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("lo up: %v: %s", err, out)
	}
	os.WriteFile("/proc/sys/kernel/bpf_stats_enabled", []byte("1"), 0)
	defer os.WriteFile("/proc/sys/kernel/bpf_stats_enabled", []byte("0"), 0)

	fmt.Printf("%-10s %10s %10s %10s %8s %12s %12s %14s\n", "target/s", "sent", "events", "lost", "secs", "achieved/s", "watch cpu", "bpf ns/event")
	for _, r := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil {
			return fmt.Errorf("rate %q: %w", r, err)
		}
		if err := step(bin, name, n, rate, format, timeout); err != nil {
			return err
		}
	}
	return nil
}

func step(bin, ns string, n, rate int, format string, timeout time.Duration) error {
	if bin == "none" { // baseline: the same flood with no watcher attached
		start := time.Now()
		sent, err := flood(ns, n, rate)
		if err != nil {
			return err
		}
		elapsed := time.Since(start)
		fmt.Printf("%-10s %10d %10s %10s %8.2f %12.0f %12s %14s\n", "baseline", sent, "-", "-", elapsed.Seconds(), float64(sent)/elapsed.Seconds(), "-", "-")
		return nil
	}
	args := append([]string{"watch", "--format", format, "--netns", "/run/netns/" + ns, "--ring-mib", strconv.Itoa(ringMiB)}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan struct{})
	var lost atomic.Int64
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "watching TCP resets") {
				close(ready)
			}
			if i := strings.Index(line, " kernel events lost ("); i > 0 {
				f := strings.Fields(line[:i])
				if v, err := strconv.Atoi(f[len(f)-1]); err == nil {
					lost.Add(int64(v))
				}
			}
		}
	}()
	var events atomic.Int64
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "NO_SOCKET") {
				events.Add(1)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("watcher not ready")
	}
	bpf0 := progStats(cmd.Process.Pid)
	start := time.Now()
	sent, err := flood(ns, n, rate)
	if err != nil {
		cmd.Process.Kill()
		return err
	}
	elapsed := time.Since(start)
	deadline := time.Now().Add(timeout)
	// Wait until every RST is accounted for (reported or counted lost).
	for events.Load()+lost.Load() < int64(sent) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1200 * time.Millisecond) // one more lost-counter poll
	bpf1 := progStats(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	target := strconv.Itoa(rate)
	if rate == 0 {
		target = "max"
	}
	var perEvent string
	total, by := progDelta(bpf0, bpf1)
	if sent > 0 && total > 0 {
		perEvent = fmt.Sprintf("%d", total/uint64(sent))
	}
	fmt.Printf("%-10s %10d %10d %10d %8.2f %12.0f %12s %14s\n", target, sent, events.Load(), lost.Load(),
		elapsed.Seconds(), float64(sent)/elapsed.Seconds(), cpu.Round(time.Millisecond), perEvent)
	if progs && sent > 0 {
		for _, p := range by {
			if p.cnt == 0 {
				continue
			}
			fmt.Printf("  %-18s %10d runs %6.2f runs/reset %8d ns/run %8d ns/reset\n", p.name, p.cnt,
				float64(p.cnt)/float64(sent), p.ns/p.cnt, p.ns/uint64(sent))
		}
	}
	return nil
}

// progStat is one eBPF program's run_cnt and run_time_ns (bpf_stats).
type progStat struct {
	name    string
	cnt, ns uint64
}

// progStats reads the counters of the eBPF programs process pid holds
// open: its /proc/PID/fdinfo names each program's id, so programs of other
// watchers running on the host (other tests) are not counted.
func progStats(pid int) map[ebpf.ProgramID]progStat {
	out := make(map[ebpf.ProgramID]progStat)
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fdinfo", pid))
	for _, fd := range fds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			v, ok := strings.CutPrefix(line, "prog_id:")
			if !ok {
				continue
			}
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				continue
			}
			p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
			if err != nil {
				continue
			}
			info, err := p.Info()
			st, err2 := p.Stats()
			p.Close()
			if err != nil || err2 != nil {
				continue
			}
			out[ebpf.ProgramID(id)] = progStat{info.Name, st.RunCount, uint64(st.Runtime)}
		}
	}
	return out
}

// progDelta sums what each program (by name) ran between a and b.
func progDelta(a, b map[ebpf.ProgramID]progStat) (total uint64, by []progStat) {
	names := map[string]*progStat{}
	for id, s1 := range b {
		s0 := a[id]
		d, ok := names[s1.name]
		if !ok {
			d = &progStat{name: s1.name}
			names[s1.name] = d
		}
		d.cnt += s1.cnt - s0.cnt
		d.ns += s1.ns - s0.ns
		total += s1.ns - s0.ns
	}
	for _, d := range names {
		by = append(by, *d)
	}
	sort.Slice(by, func(i, j int) bool { return by[i].ns > by[j].ns })
	return total, by
}

// flood splits n SYNs over the sending threads.
func flood(ns string, n, rate int) (int, error) {
	type result struct {
		sent int
		err  error
	}
	res := make(chan result, senders)
	for i := 0; i < senders; i++ {
		go func() {
			s, err := flood1(ns, n/senders, rate/senders, uint16(i))
			res <- result{s, err}
		}()
	}
	total := 0
	var first error
	for i := 0; i < senders; i++ {
		r := <-res
		total += r.sent
		if r.err != nil && first == nil {
			first = r.err
		}
	}
	return total, first
}

// flood1 sends n SYNs from 127.0.0.(2+id) to 127.0.0.1:9 inside ns, paced to
// rate per second (0: unpaced), cycling source ports so every SYN is a new flow.
func flood1(ns string, n, rate int, id uint16) (int, error) {
	type result struct {
		sent int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			done <- result{0, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{0, err}
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			done <- result{0, err}
			return
		}
		defer unix.Close(fd)
		dst := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
		pkt := make([]byte, 40)
		start := time.Now()
		sent := 0
		for i := 0; i < n; i++ {
			if rate > 0 && i%100 == 0 {
				if ahead := time.Duration(i)*time.Second/time.Duration(rate) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
			syn(pkt, byte(2+id), uint16(1024+i%64000), uint32(i))
			if err := unix.Sendto(fd, pkt, 0, dst); err != nil {
				if err == unix.ENOBUFS {
					continue
				}
				done <- result{sent, err}
				return
			}
			sent++
		}
		done <- result{sent, nil}
	}()
	r := <-done
	return r.sent, r.err
}

// syn writes an IPv4+TCP SYN 127.0.0.src:sport -> 127.0.0.1:9 into b (40 bytes).
func syn(b []byte, src byte, sport uint16, seq uint32) {
	be := binary.BigEndian
	clear(b)
	b[0] = 0x45
	be.PutUint16(b[2:], 40)
	b[8] = 64
	b[9] = unix.IPPROTO_TCP
	copy(b[12:16], []byte{127, 0, 0, src})
	copy(b[16:20], []byte{127, 0, 0, 1})
	be.PutUint16(b[10:], csum(b[:20], 0))
	t := b[20:]
	be.PutUint16(t[0:], sport)
	be.PutUint16(t[2:], 9)
	be.PutUint32(t[4:], seq)
	t[12] = 5 << 4
	t[13] = 0x02 // SYN
	be.PutUint16(t[14:], 65535)
	// Pseudo-header: saddr, daddr, zero, protocol, TCP length.
	var sum uint32
	for i := 12; i < 20; i += 2 {
		sum += uint32(be.Uint16(b[i:]))
	}
	sum += unix.IPPROTO_TCP + 20
	be.PutUint16(t[16:], csum(t, sum))
}

func csum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
