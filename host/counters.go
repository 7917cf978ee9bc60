package host

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Counters maps "TcpExt.ListenOverflows" or "Tcp.OutRsts" to its value. A
// key that is missing was not exported by this kernel: absent, not zero.
type Counters map[string]uint64

// counterFiles hold the SNMP MIBs; both use header/value line pairs.
var counterFiles = []string{"/proc/net/netstat", "/proc/net/snmp"}

// parseCounters reads the paired-line format of /proc/net/netstat and
// /proc/net/snmp:
//
//	TcpExt: SyncookiesSent SyncookiesRecv ...
//	TcpExt: 0 0 ...
//
// into c. Tcp's MaxConn is -1 on Linux, so values parse as signed and
// negative ones are skipped rather than wrapped.
func parseCounters(r io.Reader, c Counters) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		head := sc.Text()
		if !sc.Scan() {
			return fmt.Errorf("header %q without a value line", prefixOf(head))
		}
		vals := sc.Text()
		hp, hrest, ok1 := strings.Cut(head, ":")
		vp, vrest, ok2 := strings.Cut(vals, ":")
		if !ok1 || !ok2 || hp != vp {
			return fmt.Errorf("mismatched lines %q and %q", prefixOf(head), prefixOf(vals))
		}
		names, nums := strings.Fields(hrest), strings.Fields(vrest)
		if len(names) != len(nums) {
			return fmt.Errorf("%s: %d names but %d values", hp, len(names), len(nums))
		}
		for i, n := range names {
			v, err := strconv.ParseInt(nums[i], 10, 64)
			if err != nil {
				u, uerr := strconv.ParseUint(nums[i], 10, 64)
				if uerr != nil {
					return fmt.Errorf("%s.%s: %w", hp, n, err)
				}
				c[hp+"."+n] = u
				continue
			}
			if v >= 0 {
				c[hp+"."+n] = uint64(v)
			}
		}
	}
	return sc.Err()
}

func prefixOf(line string) string {
	p, _, _ := strings.Cut(line, ":")
	return p
}

// readCounters reads both MIB files under root; a file that cannot be read
// or parsed is listed in the report and its counters stay absent.
func readCounters(root Root, rep *Report) Counters {
	c := Counters{}
	for _, p := range counterFiles {
		f, err := root.open(p)
		if err != nil {
			rep.unreadable("counters", p, shortErr(err))
			continue
		}
		err = parseCounters(f, c)
		f.Close()
		if err != nil {
			rep.unreadable("counters", p, fmt.Errorf("parsing: %w", err))
		}
	}
	return c
}
