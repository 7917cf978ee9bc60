package kernel

import (
	"os"
	"testing"
)

const formatExcerpt = `print fmt: "skbaddr=%p reason=%s", REC->skbaddr, REC->state ? __print_symbolic(REC->state, { TCP_ESTABLISHED, "TCP_ESTABLISHED" }) : "UNKNOWN", __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, { 1, "NO_SOCKET" }, { 11, "TCP_ABORT_ON_CLOSE" }, { 15, "TCP_KEEPALIVE_TIMEOUT" })`

func TestNamesFromFormat(t *testing.T) {
	n, err := NamesFromFormat(formatExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[uint32]string{0: "NOT_SPECIFIED", 1: "NO_SOCKET", 11: "TCP_ABORT_ON_CLOSE", 15: "TCP_KEEPALIVE_TIMEOUT", 99: "REASON_99", ReasonUnknown: ""} {
		if got := n.Reason(v); got != want {
			t.Errorf("Reason(%d): got %q, want %q", v, got, want)
		}
	}
	if got := n.State(10); got != "TCP_LISTEN" {
		t.Errorf("State(10): got %q, want TCP_LISTEN", got)
	}
	if _, err := NamesFromFormat("print fmt: \"no reasons\""); err == nil {
		t.Error("got nil error for a format without reasons, want ErrNoReasons")
	}
}

// TestNamesAgree checks that BTF and the tracepoint format name every reason
// alike on the running kernel.
func TestNamesAgree(t *testing.T) {
	b, err := os.ReadFile("/sys/kernel/tracing/events/tcp/tcp_send_reset/format")
	if err != nil {
		t.Skipf("tracefs not readable here: %v", err)
	}
	fromFormat, err := NamesFromFormat(string(b))
	if err != nil {
		t.Skipf("kernel has no reset reasons: %v", err)
	}
	fromKernel, err := LoadNames()
	if err != nil {
		t.Fatal(err)
	}
	if fromKernel.Reasons() < fromFormat.Reasons() {
		t.Errorf("got %d reasons from %s, want at least the format's %d", fromKernel.Reasons(), fromKernel.Source, fromFormat.Reasons())
	}
	for v := range fromFormat.reasons {
		if a, b := fromKernel.Reason(v), fromFormat.Reason(v); a != b {
			t.Errorf("reason %d: %s says %q, tracefs says %q", v, fromKernel.Source, a, b)
		}
	}
	for v := uint8(1); v <= 12; v++ {
		if fromKernel.State(v) != tcpStates[v] {
			t.Errorf("state %d: got %q, want %q", v, fromKernel.State(v), tcpStates[v])
		}
	}
}
