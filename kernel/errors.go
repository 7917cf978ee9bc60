package kernel

import "errors"

var (
	// ErrPermission means the process lacks the privilege to load eBPF
	// programs: root, or CAP_BPF with CAP_PERFMON.
	ErrPermission = errors.New("loading eBPF needs root (or CAP_BPF and CAP_PERFMON)")
	// ErrUnsupported means this host's kernel or OS lacks what the watcher
	// needs (BTF, the tcp tracepoints, eBPF itself).
	ErrUnsupported = errors.New("this kernel can't watch resets")
)
