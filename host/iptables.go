package host

import (
	"bufio"
	"io"
	"strings"
)

// parseIPTablesSave finds the rules in iptables-save output that reject
// with a TCP reset (-j REJECT --reject-with tcp-reset). source names the
// tool ("iptables-legacy"); each rule's Handle is its 1-based position in
// its chain, counted per table as iptables -L --line-numbers does.
func parseIPTablesSave(r io.Reader, source string) ([]RejectRule, error) {
	var out []RejectRule
	table := ""
	pos := map[string]uint64{} // chain → rules seen so far in this table
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
			pos = map[string]uint64{}
		case strings.HasPrefix(line, "-A "):
			fs := strings.Fields(line)
			if len(fs) < 2 {
				continue
			}
			chain := fs[1]
			pos[chain]++
			if rejectsWithReset(fs) {
				out = append(out, RejectRule{
					Source: source,
					Table:  table,
					Chain:  chain,
					Handle: pos[chain],
					Text:   line,
				})
			}
		}
	}
	return out, sc.Err()
}

// rejectsWithReset reports whether a rule's words hold -j REJECT with
// --reject-with tcp-reset (iptables also accepts the alias tcp-rst).
func rejectsWithReset(fs []string) bool {
	reject, reset := false, false
	for i := 0; i+1 < len(fs); i++ {
		switch fs[i] {
		case "-j", "--jump":
			reject = fs[i+1] == "REJECT"
		case "--reject-with":
			reset = fs[i+1] == "tcp-reset" || fs[i+1] == "tcp-rst"
		}
	}
	return reject && reset
}
