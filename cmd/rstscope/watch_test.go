package main

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/kernel"
	"github.com/rstscope/rstscope/render"
)

// reasonFormat is the reason table of a Linux 6.18 tcp_send_reset format
// file, cut down; watch reads the real one from the running kernel.
const reasonFormat = `print fmt: "...", __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, { 1, "NO_SOCKET" }, { 6, "TCP_FLAGS" }, { 10, "INVALID_SYN" }, { 11, "TCP_ABORT_ON_CLOSE" }, { 14, "TCP_STATE" }, { 15, "TCP_KEEPALIVE_TIMEOUT" }, { 9, "TCP_TIMEWAIT_SOCKET" })`

func TestWatchAttribution(t *testing.T) {
	names, err := kernel.NamesFromFormat(reasonFormat)
	if err != nil {
		t.Fatal(err)
	}
	srv := netip.MustParseAddrPort("10.0.0.1:443")
	cli := netip.MustParseAddrPort("10.0.0.2:40000")
	for _, c := range []struct {
		name       string
		e          kernel.Event
		cause      cause.ID
		sender     cause.Sender
		reason     string
		context    string
		pid        int
		wantClient string
	}{
		{name: "SYN to a closed port",
			e:     kernel.Event{Kind: kernel.Sent, From: srv, To: cli, Reason: 1, InFlags: 0x02, Context: kernel.ContextKernel},
			cause: cause.ClosedPort, sender: cause.Server, reason: "NO_SOCKET", context: "kernel", wantClient: cli.String()},
		{name: "ACK for a connection this host lost",
			e:     kernel.Event{Kind: kernel.Sent, From: srv, To: cli, Reason: 1, InFlags: 0x10, Context: kernel.ContextKernel},
			cause: cause.HalfOpen, sender: cause.Server, reason: "NO_SOCKET", context: "kernel", wantClient: cli.String()},
		{name: "close with unread data",
			e:     kernel.Event{Kind: kernel.Sent, From: srv, To: cli, Reason: 11, State: 7, Context: kernel.ContextProcess, PID: 42, Comm: [16]byte{'n', 'g', 'i', 'n', 'x'}},
			cause: cause.UnreadDataClose, sender: cause.Server, reason: "TCP_ABORT_ON_CLOSE", context: "process", pid: 42, wantClient: cli.String()},
		{name: "client abort",
			e:     kernel.Event{Kind: kernel.Sent, From: cli, To: srv, Reason: 14, State: 7, Context: kernel.ContextProcess, PID: 7},
			cause: cause.ApplicationAbort, sender: cause.Client, reason: "TCP_STATE", context: "process", pid: 7, wantClient: cli.String()},
		{name: "keepalive timer",
			e:     kernel.Event{Kind: kernel.Sent, From: cli, To: srv, Reason: 15, State: 1, Context: kernel.ContextKernel},
			cause: cause.IdleTimeout, sender: cause.Client, reason: "TCP_KEEPALIVE_TIMEOUT", context: "kernel", wantClient: cli.String()},
		{name: "INVALID_SYN outside LISTEN",
			e:     kernel.Event{Kind: kernel.Sent, From: srv, To: cli, Reason: 10, State: 1, Context: kernel.ContextKernel},
			cause: cause.InvalidSegment, sender: cause.Server, reason: "INVALID_SYN", context: "kernel", wantClient: cli.String()},
		{name: "data to an orphan in FIN-WAIT-2",
			e:     kernel.Event{Kind: kernel.Sent, From: srv, To: cli, Reason: 9, State: 6, Substate: 5, InFlags: 0x18, Context: kernel.ContextKernel},
			cause: cause.DataAfterClose, sender: cause.Server, reason: "TCP_TIMEWAIT_SOCKET", context: "kernel", wantClient: cli.String()},
		// tcp_timewait_state_process returns TCP_TW_RST only in the
		// FIN_WAIT2 substate; whatever substate is printed, the reason means
		// new data after a close.
		{name: "TCP_TIMEWAIT_SOCKET whatever the substate",
			e:     kernel.Event{Kind: kernel.Sent, From: srv, To: cli, Reason: 9, State: 6, Substate: 6, InFlags: 0x10, Context: kernel.ContextKernel},
			cause: cause.DataAfterClose, sender: cause.Server, reason: "TCP_TIMEWAIT_SOCKET", context: "kernel", wantClient: cli.String()},
		{name: "RST nobody in the stack sent",
			e:     kernel.Event{Kind: kernel.Wire, From: srv, To: cli, Reason: kernel.ReasonUnknown, Context: kernel.ContextKernel},
			cause: cause.FirewallReject, sender: cause.Server, context: "kernel", wantClient: cli.String()},
		{name: "our SYN refused",
			e:     kernel.Event{Kind: kernel.Received, From: srv, To: cli, Reason: kernel.ReasonUnknown, State: 2, Context: kernel.ContextProcess, PID: 9},
			cause: cause.ClosedPort, sender: cause.Server, context: "process", pid: 9, wantClient: cli.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := diagnose.NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: t.TempDir()}, nil)
			f := a.Finding(&kernel.Reset{Event: c.e}, time.Unix(0, 0))
			if f.Cause != c.cause || f.Sender != c.sender || f.KernelReason != c.reason {
				t.Errorf("got %s/%s/%q, want %s/%s/%q", f.Cause, f.Sender, f.KernelReason, c.cause, c.sender, c.reason)
			}
			if f.Context != c.context || f.PID != c.pid {
				t.Errorf("got context %q pid %d, want %q pid %d", f.Context, f.PID, c.context, c.pid)
			}
			if f.Client != c.wantClient {
				t.Errorf("got client %s, want %s", f.Client, c.wantClient)
			}
			if len(f.Advice) == 0 || len(f.Evidence) == 0 {
				t.Errorf("got advice %q evidence %q, want both", f.Advice, f.Evidence)
			}
		})
	}
}

func TestWatchLine(t *testing.T) {
	names, _ := kernel.NamesFromFormat(reasonFormat)
	a := diagnose.NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: t.TempDir()}, nil)
	e := kernel.Event{Kind: kernel.Sent, From: netip.MustParseAddrPort("10.0.0.1:443"), To: netip.MustParseAddrPort("10.0.0.2:40000"),
		Reason: 11, State: 7, NetNS: 4026531840, Context: kernel.ContextProcess, PID: 42, Comm: [16]byte{'n', 'g', 'i', 'n', 'x'}}
	f := a.Finding(&kernel.Reset{Event: e}, time.Date(2026, 11, 25, 23, 0, 1, 123456000, time.UTC))
	got := string(appendLine(nil, &f))
	want := "23:00:01.123456 sent 10.0.0.1:443 > 10.0.0.2:40000 unread-data-close reason=TCP_ABORT_ON_CLOSE state=TCP_CLOSE sender=server pid=42 comm=nginx netns=4026531840\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestWatchMetricsAddr(t *testing.T) {
	for in, want := range map[string]string{
		":9965":         "127.0.0.1:9965",
		"9965":          "127.0.0.1:9965",
		"0.0.0.0:9965":  "0.0.0.0:9965",
		"[::]:9965":     "[::]:9965",
		"10.1.2.3:9965": "10.1.2.3:9965",
	} {
		if got := metricsListenAddr(in); got != want {
			t.Errorf("metricsListenAddr(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestWatchFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "html"}, "unknown format"},
		{[]string{"-i", "nonexistent0"}, "no such interface"},
		{[]string{"--ring-mib", "3"}, "power of two"},
		{[]string{"extra"}, "no arguments"},
		{[]string{"--netns", "/nonexistent/ns"}, "-netns"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), append([]string{"watch"}, c.args...), &bytes.Buffer{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}

func BenchmarkWatchFinding(b *testing.B) {
	names, _ := kernel.NamesFromFormat(reasonFormat)
	a := diagnose.NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: b.TempDir()}, nil)
	e := kernel.Event{Kind: kernel.Sent, From: netip.MustParseAddrPort("10.0.0.1:443"), To: netip.MustParseAddrPort("10.0.0.2:40000"),
		Reason: 1, InFlags: 0x02, NetNS: 4026531840, Context: kernel.ContextKernel}
	for _, format := range []string{"text", "ndjson"} {
		b.Run(format, func(b *testing.B) {
			out := &findingWriter{w: io.Discard, ndjson: format == "ndjson", enc: render.NewNDJSON(io.Discard)}
			at := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				out.emit(a.Finding(&kernel.Reset{Event: e}, at))
			}
		})
	}
}
