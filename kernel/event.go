// Package kernel watches the Linux kernel send and receive TCP resets with
// eBPF: the tracepoints tcp:tcp_send_reset (which carries the kernel's own
// reason, enum sk_rst_reason, since Linux 6.10) and tcp:tcp_receive_reset,
// plus a transmit-side check that catches RSTs the TCP stack never announced
// (netfilter's "reject with tcp reset").
//
// The C source (rstscope.bpf.c, nf.bpf.c) sits beside the bpf2go output,
// which is committed so that go build needs no clang;
// scripts/check-bpf-generated.sh proves it is current.
package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Kind says which hook saw a reset.
type Kind uint8

// Values mirror enum event_kind in rstscope.h.
const (
	// Sent: the TCP stack sent the RST (tcp:tcp_send_reset).
	Sent Kind = 1
	// Received: a local socket accepted a RST (tcp:tcp_receive_reset).
	Received Kind = 2
	// Wire: a RST left a device and the TCP stack had not announced it.
	// Until user space has waited out the stack's late announcement (see
	// Correlator), it is only a candidate.
	Wire Kind = 3
	// Netfilter: nf_send_reset or nf_send_reset6 built the RST (fentry).
	Netfilter Kind = 4
)

func (k Kind) String() string {
	switch k {
	case Sent:
		return "sent"
	case Received:
		return "received"
	case Wire:
		return "wire"
	case Netfilter:
		return "netfilter"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Context says where the kernel was when it handled the reset.
type Context uint8

// Values mirror enum event_context in rstscope.h.
const (
	ContextUnknown Context = 0
	// ContextProcess: a task's own system call (close, shutdown, setsockopt)
	// sent it; PID, Comm and CgroupID name that task.
	ContextProcess Context = 1
	// ContextKernel: softirq (receive path, timers) or a kernel thread; the
	// task that happened to be running is not recorded.
	ContextKernel Context = 2
)

func (c Context) String() string {
	switch c {
	case ContextProcess:
		return "process"
	case ContextKernel:
		return "kernel"
	}
	return "unknown"
}

// ReasonUnknown marks an event whose kernel reports no reason (received
// resets, foreign RSTs, kernels before 6.10).
const ReasonUnknown = ^uint32(0)

// Event is one reset, decoded from the ring buffer.
type Event struct {
	// Boot is CLOCK_BOOTTIME in nanoseconds when the hook ran.
	Boot uint64
	Kind Kind
	// From sent the RST and To received it, for every Kind: for Received
	// events From is the remote peer.
	From, To netip.AddrPort
	// NetNS is the network namespace inode (as in /proc/PID/ns/net).
	NetNS uint32
	// State is the kernel's TCP state number (TCP_ESTABLISHED = 1 ...), 0
	// when the reset had no socket.
	State uint8
	// Substate is the time-wait socket's tw_substate when State is
	// TCP_TIME_WAIT: TCP_FIN_WAIT2 for an orphan closed in FIN-WAIT-2,
	// TCP_TIME_WAIT for a real TIME-WAIT.
	Substate uint8
	// Reason is the enum sk_rst_reason value for Sent events, else ReasonUnknown.
	Reason  uint32
	Cookie  uint64 // socket cookie, 0 when unknown
	Context Context
	// InFlags are the TCP flags of the segment a Sent RST answers (0x02 SYN),
	// 0 when the RST answered no segment (close, abort, timer).
	InFlags uint8
	PID     uint32 // thread group id; 0 unless Context is ContextProcess
	TID     uint32
	// Comm is the task's command name, NUL-padded.
	Comm     [16]byte
	CgroupID uint64 // cgroup v2 id (the cgroup directory's inode)
	// FromSock is set on a Wire event whose packet belonged to a socket (a
	// raw or AF_PACKET socket writing its own RST); clear when kernel code
	// with no socket built it, as netfilter's reject does.
	FromSock bool
	// ClosedClean, on a Sent event with reason NO_SOCKET, says this host's
	// own socket on the same four-tuple ended cleanly as the second to close
	// (LAST_ACK to CLOSE, its FIN acknowledged) ClosedAgo before the reset,
	// to the millisecond below: the peer closed first and may still be in
	// TIME-WAIT. False when that did not happen within the last 65 s or was
	// not remembered (an LRU of 16 384 connections).
	ClosedClean bool
	ClosedAgo   time.Duration
	// Conntrack is, on a Wire event, what conntrack knew of the flow whose
	// segment the RST answered, from the entry netfilter's reject attached
	// to it; RSTFlags are that RST's own TCP flags.
	Conntrack Conntrack
	RSTFlags  uint8
}

// Conntrack says what the host's connection tracking knew of a flow.
type Conntrack uint8

// Values mirror enum ct_seen in rstscope.h.
const (
	// ConntrackNone: no entry came with the RST (conntrack not running in
	// that namespace, or the segment was invalid to it).
	ConntrackNone Conntrack = 0
	// ConntrackNew: the entry was not yet confirmed: the answered segment
	// was the first conntrack saw of the flow.
	ConntrackNew Conntrack = 1
	// ConntrackKnown: a confirmed entry: conntrack tracked the flow.
	ConntrackKnown Conntrack = 2
)

// CommString returns Comm up to its first NUL.
func (e *Event) CommString() string {
	for i, c := range e.Comm {
		if c == 0 {
			return string(e.Comm[:i])
		}
	}
	return string(e.Comm[:])
}

// MaxNetNS is how many network namespaces one Watcher can filter to
// (MAX_NETNS in rstscope.h).
const MaxNetNS = 64

// EventSize is sizeof(struct event) in rstscope.h.
const EventSize = 112

// Offsets in struct event; TestEventLayout checks them against bpf2go's Go twin.
const (
	offTs       = 0
	offCookie   = 8
	offCgroup   = 16
	offTuple    = 24 // struct tuple: saddr[16] daddr[16] netns u32 sport dport family pad (u16)
	offPID      = 68
	offTID      = 72
	offReason   = 76
	offKind     = 80
	offState    = 81
	offContext  = 82
	offInFlags  = 83
	offComm     = 84
	offSubstate = 100
	offFromSock = 101
	offClosedMs = 102
	offCt       = 104
	offRSTFlags = 105
)

const (
	afInet  = 2
	afInet6 = 10
)

// ErrShortEvent means a ring buffer record is smaller than struct event.
var ErrShortEvent = errors.New("short event record")

// Decode fills e from one ring buffer record. It allocates nothing: e is
// the caller's, and nothing in e refers to b afterwards.
func Decode(b []byte, e *Event) error {
	if len(b) < EventSize {
		return fmt.Errorf("decoding event: %w: %d bytes, want %d", ErrShortEvent, len(b), EventSize)
	}
	le := binary.LittleEndian
	e.Boot = le.Uint64(b[offTs:])
	e.Cookie = le.Uint64(b[offCookie:])
	e.CgroupID = le.Uint64(b[offCgroup:])
	t := b[offTuple:]
	e.NetNS = le.Uint32(t[32:])
	sport, dport, family := le.Uint16(t[36:]), le.Uint16(t[38:]), le.Uint16(t[40:])
	var src, dst netip.Addr
	switch family {
	case afInet:
		src = netip.AddrFrom4([4]byte(t[0:4]))
		dst = netip.AddrFrom4([4]byte(t[16:20]))
	case afInet6:
		src = netip.AddrFrom16([16]byte(t[0:16]))
		dst = netip.AddrFrom16([16]byte(t[16:32]))
	}
	e.PID = le.Uint32(b[offPID:])
	e.TID = le.Uint32(b[offTID:])
	e.Reason = le.Uint32(b[offReason:])
	e.Kind = Kind(b[offKind])
	e.State = b[offState]
	e.Context = Context(b[offContext])
	e.InFlags = b[offInFlags]
	copy(e.Comm[:], b[offComm:offComm+16])
	e.Substate = b[offSubstate]
	e.FromSock = b[offFromSock] != 0
	e.Conntrack, e.RSTFlags = Conntrack(b[offCt]), b[offRSTFlags]
	ms := le.Uint16(b[offClosedMs:]) // 1 + whole milliseconds, 0 none
	e.ClosedClean = ms != 0
	e.ClosedAgo = 0
	if ms != 0 {
		e.ClosedAgo = time.Duration(ms-1) * time.Millisecond
	}
	if e.Kind != Sent {
		e.Reason = ReasonUnknown
	}
	// tcp_receive_reset reports the socket's own ends: saddr is local.
	if e.Kind == Received {
		e.From, e.To = netip.AddrPortFrom(dst, dport), netip.AddrPortFrom(src, sport)
	} else {
		e.From, e.To = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	}
	return nil
}

// Time converts e.Boot to wall-clock time given one paired reading of both
// clocks (see Watcher).
func (e *Event) Time(wall time.Time, boot uint64) time.Time {
	return wall.Add(time.Duration(int64(e.Boot - boot)))
}
