package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Names turns the kernel's reason and state numbers into the kernel's own
// names. Reasons come from the running kernel (BTF enum sk_rst_reason, else
// the tcp_send_reset tracepoint's print format), never from a table here:
// the numbering changes between kernel versions.
type Names struct {
	reasons map[uint32]string
	states  map[uint8]string
	// Source says where the reason names were read from.
	Source string
}

// Reason returns the name without the SK_RST_REASON_ prefix, as the
// tracepoint prints it (NO_SOCKET, TCP_ABORT_ON_CLOSE), or "" when unknown.
func (n *Names) Reason(v uint32) string {
	if v == ReasonUnknown || n == nil {
		return ""
	}
	if s, ok := n.reasons[v]; ok {
		return s
	}
	return "REASON_" + strconv.FormatUint(uint64(v), 10)
}

// State returns the TCP state name (TCP_ESTABLISHED), or "" for 0.
func (n *Names) State(v uint8) string {
	if v == 0 {
		return ""
	}
	if n != nil {
		if s, ok := n.states[v]; ok {
			return s
		}
	}
	return "STATE_" + strconv.Itoa(int(v))
}

// Reasons returns the number of known reason names.
func (n *Names) Reasons() int { return len(n.reasons) }

// tcpStates is the TCP state numbering of include/net/tcp_states.h. It is
// user-visible ABI (ss, /proc/net/tcp and the tcp:* tracepoints print it)
// and has not changed since Linux 2.6; BTF overrides it when present.
var tcpStates = map[uint8]string{
	1: "TCP_ESTABLISHED", 2: "TCP_SYN_SENT", 3: "TCP_SYN_RECV", 4: "TCP_FIN_WAIT1",
	5: "TCP_FIN_WAIT2", 6: "TCP_TIME_WAIT", 7: "TCP_CLOSE", 8: "TCP_CLOSE_WAIT",
	9: "TCP_LAST_ACK", 10: "TCP_LISTEN", 11: "TCP_CLOSING", 12: "TCP_NEW_SYN_RECV",
}

// ErrNoReasons means this kernel reports no reset reasons (before Linux
// 6.10, or without BTF and tracefs).
var ErrNoReasons = errors.New("kernel reports no reset reasons (needs Linux 6.10+)")

// LoadNames reads reason and state names from the running kernel's BTF,
// falling back to the tracepoint format under tracefs.
func LoadNames() (*Names, error) {
	spec, err := btf.LoadKernelSpec()
	if err == nil {
		if n, err := namesFromBTF(spec); err == nil {
			return n, nil
		}
	}
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		b, err := os.ReadFile(dir + "/events/tcp/tcp_send_reset/format")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading reset reasons: %w", err)
		}
		return NamesFromFormat(string(b))
	}
	return nil, ErrNoReasons
}

func namesFromBTF(spec *btf.Spec) (*Names, error) {
	var reason *btf.Enum
	if err := spec.TypeByName("sk_rst_reason", &reason); err != nil {
		return nil, fmt.Errorf("looking up enum sk_rst_reason: %w", err)
	}
	n := &Names{reasons: map[uint32]string{}, states: map[uint8]string{}, Source: "btf"}
	for _, v := range reason.Values {
		n.reasons[uint32(v.Value)] = strings.TrimPrefix(v.Name, "SK_RST_REASON_")
	}
	// The TCP states are an anonymous enum; find the one holding TCP_LISTEN.
	for typ, err := range spec.All() {
		if err != nil {
			break
		}
		e, ok := typ.(*btf.Enum)
		if !ok || e.Name != "" || len(e.Values) < 12 || e.Values[0].Name != "TCP_ESTABLISHED" {
			continue
		}
		for _, v := range e.Values {
			if v.Value < 256 && strings.HasPrefix(v.Name, "TCP_") {
				n.states[uint8(v.Value)] = v.Name
			}
		}
		break
	}
	if len(n.states) == 0 {
		n.states = tcpStates
	}
	return n, nil
}

var symbolic = regexp.MustCompile(`\{\s*(\d+),\s*"([A-Z0-9_]+)"\s*\}`)

// NamesFromFormat parses the reason table out of a tcp_send_reset format
// file: print fmt ... __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, ...).
func NamesFromFormat(format string) (*Names, error) {
	i := strings.Index(format, "__print_symbolic(REC->reason")
	if i < 0 {
		return nil, ErrNoReasons
	}
	n := &Names{reasons: map[uint32]string{}, states: tcpStates, Source: "tracefs"}
	for _, m := range symbolic.FindAllStringSubmatch(format[i:], -1) {
		v, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil {
			continue
		}
		n.reasons[uint32(v)] = m[2]
	}
	if len(n.reasons) == 0 {
		return nil, ErrNoReasons
	}
	return n, nil
}
