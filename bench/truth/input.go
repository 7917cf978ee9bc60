// Package truth scores rstscope's verdicts against the kernel's own account
// of each reset, on a run made by bench/mktruth.sh: a capture, the scenario
// each connection ran (bench/trafficgen -log) and every tcp:tcp_send_reset
// event (bench/truth/cmd/truthtrace). Score reads the three files, runs the
// capture through diagnose (the path `rstscope analyze --format ndjson`
// takes), matches each kernel event to the reset it put on the wire, and
// compares the finding's cause with the causes the kernel's reason allows
// (reasons.go, a table independent of cause/'s rules).
package truth

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scenario is one line of scenarios.tsv: a connection the generator made.
type Scenario struct {
	Client, Server netip.AddrPort
	Kind           string
	Family         int
	Start          time.Time
}

// KernelEvent is one line of kernel.tsv.
type KernelEvent struct {
	Time     time.Time
	Event    string // tcp_send_reset or tcp_receive_reset
	Src, Dst netip.AddrPort
	State    string // tcp_send_reset only
	Reason   string // tcp_send_reset only
}

// parseAddrPort reads ip:port as the generator and the tracepoint print it;
// a dual-stack socket prints an IPv4 peer as [::ffff:a.b.c.d], so addresses
// are unmapped.
func parseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, err
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func parseUnix(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	a, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var ns int64
	if frac != "" {
		ns, err = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(a, ns), nil
}

// readTSV calls row for every line after the header, with its fields.
func readTSV(name string, cols int, row func(f []string) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			continue
		}
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != cols {
			return fmt.Errorf("%s:%d: %d fields, want %d", name, line, len(fields), cols)
		}
		if err := row(fields); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if line == 0 {
		return fmt.Errorf("%s: empty file (no header)", name)
	}
	return nil
}

// ReadScenarios reads scenarios.tsv, sorted by start time.
func ReadScenarios(name string) ([]Scenario, error) {
	var out []Scenario
	err := readTSV(name, 5, func(f []string) error {
		var s Scenario
		var err error
		if s.Client, err = parseAddrPort(f[0]); err != nil {
			return err
		}
		if s.Server, err = parseAddrPort(f[1]); err != nil {
			return err
		}
		s.Kind = f[2]
		if s.Family, err = strconv.Atoi(f[3]); err != nil {
			return err
		}
		if s.Start, err = parseUnix(f[4]); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, err
}

// ReadKernelEvents reads kernel.tsv, sorted by time.
func ReadKernelEvents(name string) ([]KernelEvent, error) {
	var out []KernelEvent
	err := readTSV(name, 6, func(f []string) error {
		var e KernelEvent
		var err error
		if e.Time, err = parseUnix(f[0]); err != nil {
			return err
		}
		e.Event = f[1]
		if e.Src, err = parseAddrPort(f[2]); err != nil {
			return err
		}
		if e.Dst, err = parseAddrPort(f[3]); err != nil {
			return err
		}
		e.State, e.Reason = f[4], f[5]
		out = append(out, e)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, err
}
