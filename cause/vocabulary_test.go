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

// kernelConfirms reports whether reason is among the cause's kernel reasons.
func kernelConfirms(id ID, reason string) bool {
	for _, r := range Lookup(id).KernelReasons {
		if r == trimReason(reason) {
			return true
		}
	}
	return false
}
