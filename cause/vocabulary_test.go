package cause

import "testing"

func TestVocabularyIsDesignsList(t *testing.T) {
	want := []ID{ClosedPort, SYNConflict, AcceptQueueOverflow, HalfOpen, FirewallReject, TimeWaitAssassination,
		ApplicationAbort, IdleTimeout, UnreadDataClose, DataAfterClose, Injected, DuplicateIP, InvalidSegment,
		ResourceExhaustion, ListenerClosed, ConnectAbandoned, RetransmissionTimeout, ScanProbe, Unknown}
	if len(Vocabulary) != len(want) {
		t.Fatalf("got %d causes, want %d", len(Vocabulary), len(want))
	}
	for i, id := range want {
		if Vocabulary[i].ID != id {
			t.Errorf("cause %d: got %s, want %s", i, Vocabulary[i].ID, id)
		}
		if !Valid(id) || Lookup(id).ID != id {
			t.Errorf("Lookup(%s) does not find it", id)
		}
	}
	if Lookup("no-such-cause").ID != Unknown {
		t.Error("an unknown ID should look up as unknown")
	}
}

func TestForKernelReason(t *testing.T) {
	tests := []struct {
		reason string
		want   ID
	}{
		{"NO_SOCKET", ClosedPort},
		{"SK_RST_REASON_NO_SOCKET", ClosedPort},
		{"TCP_INVALID_ACK_SEQUENCE", SYNConflict},
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
		if got := ForKernelReason(tt.reason); got != tt.want {
			t.Errorf("ForKernelReason(%q) = %s, want %s", tt.reason, got, tt.want)
		}
	}
}

// TestKernelReasonsDocumented: every reason ForKernelReason maps to a cause
// is listed among that cause's kernel reasons, so the docs say it too.
func TestKernelReasonsDocumented(t *testing.T) {
	for _, r := range []string{"NO_SOCKET", "TCP_INVALID_ACK_SEQUENCE", "INVALID_SYN", "TCP_TIMEWAIT_SOCKET", "TCP_STATE",
		"TCP_KEEPALIVE_TIMEOUT", "TCP_ABORT_ON_CLOSE", "TCP_ABORT_ON_DATA", "TCP_ABORT_ON_MEMORY"} {
		if id := ForKernelReason(r); !kernelConfirms(id, r) {
			t.Errorf("%s maps to %s but %s's table row does not list it", r, id, id)
		}
	}
}

// kernelConfirms reports whether reason is among the cause's kernel reasons.
func kernelConfirms(id ID, reason string) bool {
	for _, r := range Lookup(id).KernelReasons {
		if r == trimReason(reason) {
			return true
		}
	}
	return false
}
