//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64

package kernel

import (
	"testing"
	"unsafe"
)

// TestEventLayout pins Decode's offsets to bpf2go's Go twin of struct event.
func TestEventLayout(t *testing.T) {
	var e rstscopeEvent
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(e), EventSize},
		{"ts", unsafe.Offsetof(e.TsNs), offTs},
		{"cookie", unsafe.Offsetof(e.Cookie), offCookie},
		{"cgroup", unsafe.Offsetof(e.CgroupId), offCgroup},
		{"tuple", unsafe.Offsetof(e.T), offTuple},
		{"netns", unsafe.Offsetof(e.T) + unsafe.Offsetof(e.T.Netns), offTuple + 32},
		{"sport", unsafe.Offsetof(e.T) + unsafe.Offsetof(e.T.Sport), offTuple + 36},
		{"family", unsafe.Offsetof(e.T) + unsafe.Offsetof(e.T.Family), offTuple + 40},
		{"pid", unsafe.Offsetof(e.Pid), offPID},
		{"tid", unsafe.Offsetof(e.Tid), offTID},
		{"reason", unsafe.Offsetof(e.Reason), offReason},
		{"kind", unsafe.Offsetof(e.Kind), offKind},
		{"state", unsafe.Offsetof(e.State), offState},
		{"context", unsafe.Offsetof(e.Context), offContext},
		{"in_flags", unsafe.Offsetof(e.InFlags), offInFlags},
		{"comm", unsafe.Offsetof(e.Comm), offComm},
		{"substate", unsafe.Offsetof(e.Substate), offSubstate},
		{"from_sock", unsafe.Offsetof(e.FromSock), offFromSock},
		{"closed_ms", unsafe.Offsetof(e.ClosedMs), offClosedMs},
		{"ct", unsafe.Offsetof(e.Ct), offCt},
		{"rst_flags", unsafe.Offsetof(e.RstFlags), offRSTFlags},
	} {
		if c.got != c.want {
			t.Errorf("%s: got offset %d, want %d", c.name, c.got, c.want)
		}
	}
}
