package cause

import (
	"testing"
	"time"

	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// kernelOnly builds the context watch has without a packet capture: the two
// addresses, the direction of the reset and the kernel's account.
func kernelOnly(fromServer bool, k Kernel) *Context {
	ctx := &Context{Kernel: k, EphemeralPorts: [2]uint16{32768, 60999}}
	ctx.Conn.Ep[flow.FromOrig].Addr, ctx.Conn.Ep[flow.FromResp].Addr = cli, srv
	ctx.Dir = flow.FromOrig
	if fromServer {
		ctx.Dir = flow.FromResp
	}
	return ctx
}

// TestClassifyKernel: the kernel's reason decides where it names one cause.
// Each row is a situation measured with Linux 6.18 in namespaces (DESIGN.md,
// "What Linux 6.18 really reports"; the lab's kernel truth): the reason,
// state and answered flags are what the tracepoint printed there.
func TestClassifyKernel(t *testing.T) {
	tests := []struct {
		name       string
		fromServer bool
		k          Kernel
		wantCause  ID
		wantSender Sender
	}{
		{"SYN to a port with no listener", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.SYN}, ClosedPort, Server},
		{"segment for a connection the server lost", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.ACK | packet.PSH}, HalfOpen, Server},
		// The lab's RFC 1337 scenarios: the server closed second and
		// cleanly (inet_sock_set_state LAST_ACK -> CLOSE, FIN acknowledged)
		// 50 ms before the router replayed the client's final ACK.
		{"stray segment after this host's clean close (RFC 1337)", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.ACK, ClosedClean: true, ClosedAgo: 50 * time.Millisecond}, TimeWaitAssassination, Server},
		{"clean close past the peer's TIME-WAIT", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.ACK, ClosedClean: true, ClosedAgo: 61 * time.Second}, HalfOpen, Server},
		{"a segment it never had, its address held by another namespace on this host", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.ACK | packet.PSH, AddrElsewhere: 4026532177}, DuplicateIP, SenderUnknown},
		{"a SYN to a twin of the address is still a closed port", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.SYN, AddrElsewhere: 4026532177}, ClosedPort, Server},
		{"SYN on the tuple of a clean close", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.SYN, ClosedClean: true, ClosedAgo: time.Second}, ClosedPort, Server},
		{"SYN-ACK for a connect() that is gone", false, Kernel{Path: KernelStack, Reason: "SK_RST_REASON_NO_SOCKET", InFlags: packet.SYN | packet.ACK}, ConnectAbandoned, Client},
		{"listener restarted on the port", true, Kernel{Path: KernelStack, Reason: "TCP_FLAGS", State: "LISTEN", InFlags: packet.ACK}, HalfOpen, Server},
		{"accept queue full", true, Kernel{Path: KernelStack, Reason: "INVALID_SYN", State: "LISTEN", InFlags: packet.ACK}, AcceptQueueOverflow, Server},
		{"SO_LINGER 0 then close", false, Kernel{Path: KernelStack, Reason: "TCP_STATE", State: "ESTABLISHED"}, ApplicationAbort, Client},
		{"TCP_LINGER2 < 0 then close", true, Kernel{Path: KernelStack, Reason: "TCP_ABORT_ON_LINGER", State: "FIN_WAIT2"}, ApplicationAbort, Server},
		{"close with unread data", true, Kernel{Path: KernelStack, Reason: "TCP_ABORT_ON_CLOSE", State: "ESTABLISHED"}, UnreadDataClose, Server},
		{"data after close, long fin_timeout", true, Kernel{Path: KernelStack, Reason: "TCP_ABORT_ON_DATA", State: "FIN_WAIT2", InFlags: packet.ACK | packet.PSH}, DataAfterClose, Server},
		{"data after close, default settings", true, Kernel{Path: KernelStack, Reason: "TCP_TIMEWAIT_SOCKET", State: "TIME_WAIT", Substate: "FIN_WAIT2", InFlags: packet.ACK | packet.PSH}, DataAfterClose, Server},
		// tcp_timewait_state_process resets only in the FIN_WAIT2 substate
		// (new data after the close, or a SYN in the window).
		{"SYN into a FIN_WAIT2 time-wait socket's window", true, Kernel{Path: KernelStack, Reason: "TCP_TIMEWAIT_SOCKET", State: "TIME_WAIT", Substate: "FIN_WAIT2", InFlags: packet.SYN}, SYNConflict, Server},
		{"challenge ACK answered by the SYN sender", false, Kernel{Path: KernelStack, Reason: "TCP_INVALID_ACK_SEQUENCE", State: "SYN_SENT", InFlags: packet.ACK}, SYNConflict, Client},
		{"keepalive probes exhausted", false, Kernel{Path: KernelStack, Reason: "TCP_KEEPALIVE_TIMEOUT", State: "ESTABLISHED"}, IdleTimeout, Client},
		{"PAWS", true, Kernel{Path: KernelStack, Reason: "TCP_RFC7323_PAWS", State: "ESTABLISHED", InFlags: packet.ACK}, InvalidSegment, Server},
		{"memory pressure", true, Kernel{Path: KernelStack, Reason: "TCP_ABORT_ON_MEMORY", State: "ESTABLISHED"}, ResourceExhaustion, Server},
		{"host's own reject rule", true, Kernel{Path: KernelNetfilter, InFlags: packet.SYN, FromLocal: true}, FirewallReject, Server},
		{"router's reject, forging the server", true, Kernel{Path: KernelNetfilter, InFlags: packet.ACK}, FirewallReject, Middlebox},
		// idle-timeout-conntrack: the reject answered an ACK (bare RST)
		// that conntrack met as a new flow; a confirmed entry or none is a
		// rule's reject (firewall-reject-router-midflow{,-nat}).
		{"router's reject of a flow conntrack forgot", true, Kernel{Path: KernelNetfilter, Conntrack: ConntrackNew}, IdleTimeout, Middlebox},
		{"router's reject of a flow conntrack knew", true, Kernel{Path: KernelNetfilter, Conntrack: ConntrackKnown}, FirewallReject, Middlebox},
		{"a raw socket on the server host forged it", true, Kernel{Path: KernelNotStack, InFlags: packet.ACK, FromLocal: true}, Injected, Server},
		{"NAT router that lost the mapping", false, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.ACK | packet.PSH, FromLocal: true, Forwards: true}, IdleTimeout, Middlebox},
		{"a forwarding host's own server lost the connection", true, Kernel{Path: KernelStack, Reason: "NO_SOCKET", InFlags: packet.ACK | packet.PSH, FromLocal: true, Forwards: true}, HalfOpen, Server},
		{"our connect() refused, seen only as received", true, Kernel{Path: KernelReceived, State: "SYN_SENT"}, ClosedPort, Server},
		{"received, and this host sent it", false, Kernel{Path: KernelReceived, SentHere: "TCP_ABORT_ON_CLOSE", State: "ESTABLISHED"}, UnreadDataClose, Client},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Classify(kernelOnly(tt.fromServer, tt.k))
			if v.Cause != tt.wantCause || v.Sender != tt.wantSender {
				t.Errorf("got %s by %s (%.2f), want %s by %s; evidence: %q", v.Cause, v.Sender, v.Confidence, tt.wantCause, tt.wantSender, v.Evidence)
			}
			// The docs (the vocabulary's kernel reasons) must say it too.
			if r := tt.k.Reason; r != "" && !kernelConfirms(v.Cause, r) {
				t.Errorf("%s gives %s but %s's table row does not list it", r, v.Cause, v.Cause)
			}
		})
	}
}

// TestKernelReasonAlone: a reason with nothing else known (no state, no
// answered segment, no wire) still names the cause it most often means; a
// reason the kernel does not specify, or this build does not know, leaves
// the verdict to the wire, which here has nothing: unknown.
func TestKernelReasonAlone(t *testing.T) {
	tests := []struct {
		reason string
		want   ID
	}{
		{"NO_SOCKET", HalfOpen},
		{"SK_RST_REASON_NO_SOCKET", HalfOpen},
		{"TCP_INVALID_ACK_SEQUENCE", InvalidSegment},
		{"INVALID_SYN", AcceptQueueOverflow},
		{"TCP_TIMEWAIT_SOCKET", DataAfterClose},
		{"TCP_STATE", ApplicationAbort},
		{"TCP_ABORT_ON_LINGER", ApplicationAbort},
		{"TCP_DISCONNECT_WITH_DATA", ApplicationAbort},
		{"TCP_KEEPALIVE_TIMEOUT", IdleTimeout},
		{"TCP_ABORT_ON_CLOSE", UnreadDataClose},
		{"TCP_ABORT_ON_DATA", DataAfterClose},
		{"TCP_RFC7323_PAWS", InvalidSegment},
		{"TCP_FLAGS", InvalidSegment},
		{"TCP_ABORT_ON_MEMORY", ResourceExhaustion},
		{"NOT_SPECIFIED", Unknown},
		{"SOMETHING_NEW", Unknown},
	}
	for _, tt := range tests {
		if got := Classify(kernelOnly(true, Kernel{Path: KernelStack, Reason: tt.reason})).Cause; got != tt.want {
			t.Errorf("%s alone: got %s, want %s", tt.reason, got, tt.want)
		}
	}
}

// TestClassifyKernelListenerClosed: inet_csk_listen_stop disconnects the
// children still queued (TCP_STATE, DESIGN.md); on the wire the server
// never spoke after its SYN-ACK. The same reason from a server that had
// answered is SO_LINGER 0.
func TestClassifyKernelListenerClosed(t *testing.T) {
	queued := conv(seg{flags: PA, seq: 1001, ack: 5001, n: 100, at: 3e6},
		seg{fromServer: true, flags: RA, seq: 5001, ack: 1101, at: 4e6})
	ctx := contextAt(t, queued, len(queued)-1)
	ctx.Kernel = Kernel{Path: KernelStack, Reason: "TCP_STATE", State: "ESTABLISHED"}
	if v := Classify(ctx); v.Cause != ListenerClosed || v.Sender != Server || len(v.Alternatives) == 0 {
		t.Errorf("queued connection: got %s by %s, alternatives %v; want listener-closed by server with alternatives", v.Cause, v.Sender, v.Alternatives)
	}
	answered := conv(seg{flags: PA, seq: 1001, ack: 5001, n: 100, at: 3e6},
		seg{fromServer: true, flags: PA, seq: 5001, ack: 1101, n: 10, at: 4e6},
		seg{fromServer: true, flags: RA, seq: 5011, ack: 1101, at: 5e6})
	ctx = contextAt(t, answered, len(answered)-1)
	ctx.Kernel = Kernel{Path: KernelStack, Reason: "TCP_STATE", State: "ESTABLISHED"}
	if v := Classify(ctx); v.Cause != ApplicationAbort {
		t.Errorf("server had answered: got %s, want application-abort", v.Cause)
	}
}
