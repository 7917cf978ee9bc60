//go:build linux

package lab

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// tcpExt reads one TcpExt counter (e.g. "TCPChallengeACK") of namespace n
// from /proc/net/netstat, whose lines come in pairs: "TcpExt: name name
// ..." then "TcpExt: value value ...". /proc/thread-self/net is the
// namespace of the calling thread, which n.do has moved into n
// (/proc/self/net would be the main thread's).
func (n *netns) tcpExt(name string) (uint64, error) {
	var b []byte
	err := n.do(func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/netstat")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reading TcpExt counters in %s: %w", n.name, err)
	}
	v, err := parseTCPExt(b, name)
	if err != nil {
		return 0, fmt.Errorf("%w (namespace %s)", err, n.name)
	}
	return v, nil
}

// parseTCPExt finds one TcpExt counter in /proc/net/netstat's text.
func parseTCPExt(b []byte, name string) (uint64, error) {
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" || len(names) != len(values) {
			continue
		}
		for j, nm := range names {
			if nm == name {
				v, err := strconv.ParseUint(values[j], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("TcpExt %s: %w", name, err)
				}
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("TcpExt %s: not exported by this kernel", name)
}
