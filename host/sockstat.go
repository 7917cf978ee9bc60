package host

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// parseSockstat reads /proc/net/sockstat ("TCP: inuse 1 orphan 0 tw 0 alloc
// 1 mem 125") into keys like "TCP.orphan". TCP.mem counts pages, the unit of
// tcp_mem; orphan is what tcp_max_orphans limits.
func parseSockstat(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		proto, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		for i := 0; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseInt(fs[i+1], 10, 64)
			if err != nil {
				continue // a field this kernel spells differently is absent, not zero
			}
			out[proto+"."+fs[i]] = v
		}
	}
	return out, sc.Err()
}
