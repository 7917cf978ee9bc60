package host

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sysctls maps a sysctl name ("net.ipv4.tcp_fin_timeout") to its integer
// values: one for most, three for tcp_mem. A name that is absent was not
// readable; see the report's Unreadable list for why.
type Sysctls map[string][]int64

// Get returns the first value of name and whether it was read.
func (s Sysctls) Get(name string) (int64, bool) {
	v, ok := s[name]
	if !ok || len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

// sysctlNames are the TCP parameters that decide whether the kernel resets
// connections; check.md explains each one.
var sysctlNames = []string{
	"net.ipv4.tcp_abort_on_overflow",
	"net.core.somaxconn",
	"net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rfc1337",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_tw_reuse",
	"net.ipv4.tcp_max_orphans",
	"net.ipv4.tcp_mem",
}

// sysctlPath maps "net.ipv4.tcp_mem" to "/proc/sys/net/ipv4/tcp_mem".
func sysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// parseSysctl reads the whitespace-separated integers of one sysctl file.
func parseSysctl(b []byte) ([]int64, error) {
	fs := strings.Fields(string(b))
	if len(fs) == 0 {
		return nil, fmt.Errorf("empty value")
	}
	out := make([]int64, 0, len(fs))
	for _, f := range fs {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing %q: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// readSysctls reads names under root. A file that is missing or unreadable
// is listed in the report, not treated as zero.
func readSysctls(root Root, names []string, rep *Report) Sysctls {
	out := Sysctls{}
	for _, n := range names {
		p := sysctlPath(n)
		b, err := root.ReadFile(p)
		if err == nil {
			var v []int64
			if v, err = parseSysctl(b); err == nil {
				out[n] = v
				continue
			}
		}
		if absent(err) {
			// tcp_mem and tcp_max_orphans exist only in the initial
			// network namespace; in a container they are the host's.
			err = errAbsentSysctl
		}
		rep.unreadable("sysctl "+n, p, shortErr(err))
	}
	return out
}

var errAbsentSysctl = errors.New("absent (not in this kernel or network namespace)")
