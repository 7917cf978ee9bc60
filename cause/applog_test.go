package cause

import (
	"slices"
	"strings"
	"testing"
)

// One line per signature, written by hand in its program's format; the row
// says which signature IDs it must carry.
func TestMatchLog(t *testing.T) {
	tests := []struct {
		name string
		l    LogFacts
		want []string
	}{
		{"nginx upstream closed", LogFacts{Text: `2026/11/30 05:00:01 [error] 9#9: *1 upstream prematurely closed connection while reading response header from upstream, client: 10.0.0.1`}, []string{"nginx-upstream-closed"}},
		{"nginx recv reset", LogFacts{Text: `2026/11/30 05:00:01 [error] 9#9: *1 recv() failed (104: Connection reset by peer) while reading response header from upstream`}, []string{"nginx-reset"}},
		{"nginx upstream timeout", LogFacts{Text: `2026/11/30 05:00:01 [error] 9#9: *3 upstream timed out (110: Connection timed out) while reading response header from upstream`}, []string{"nginx-upstream-timeout"}},
		{"nginx broken pipe", LogFacts{Text: `2026/11/30 05:00:01 [info] 9#9: *7 writev() failed (32: Broken pipe) while sending to client, client: 10.0.0.1`}, []string{"nginx-broken-pipe"}},
		{"nginx refused", LogFacts{Text: `2026/11/30 05:00:01 [error] 9#9: *5 connect() failed (111: Connection refused) while connecting to upstream`}, []string{"nginx-refused"}},
		{"nginx client abort", LogFacts{Text: `2026/11/30 05:00:01 [info] 9#9: *5 epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too (104: Connection reset by peer) while sending request to upstream`}, []string{"nginx-reset", "nginx-client-closed"}},
		{"nginx 499", LogFacts{Text: `10.0.0.1 - - [30/Nov/2026:05:00:01 +0000] "GET /slow HTTP/1.1" 499 0 "-" "-"`}, []string{"nginx-499"}},
		{"nginx worker connections", LogFacts{Text: `2026/11/30 05:00:01 [alert] 9#9: 512 worker_connections are not enough`}, []string{"nginx-worker-connections"}},
		{"haproxy sD", LogFacts{HAProxyState: "sD"}, []string{"haproxy-server-timeout"}},
		{"haproxy sH--", LogFacts{HAProxyState: "sH--"}, []string{"haproxy-server-timeout-headers"}},
		{"haproxy sL", LogFacts{HAProxyState: "sL--"}, []string{"haproxy-server-timeout-last"}},
		{"haproxy cD", LogFacts{HAProxyState: "cD"}, []string{"haproxy-client-timeout"}},
		{"haproxy cR", LogFacts{HAProxyState: "cR--"}, []string{"haproxy-client-timeout-request"}},
		{"haproxy SC", LogFacts{HAProxyState: "SC--"}, []string{"haproxy-server-refused"}},
		{"haproxy SH", LogFacts{HAProxyState: "SH--"}, []string{"haproxy-server-abort-headers"}},
		{"haproxy SD", LogFacts{HAProxyState: "SD--"}, []string{"haproxy-server-abort"}},
		{"haproxy CD", LogFacts{HAProxyState: "CD--"}, []string{"haproxy-client-abort"}},
		{"haproxy CR", LogFacts{HAProxyState: "CR"}, []string{"haproxy-client-abort-request"}},
		{"haproxy CH", LogFacts{HAProxyState: "CH--"}, []string{"haproxy-client-abort-headers"}},
		{"haproxy RC", LogFacts{HAProxyState: "RC--"}, []string{"haproxy-resource"}},
		{"haproxy normal", LogFacts{HAProxyState: "----"}, nil},
		{"redis client closed", LogFacts{Text: `4242:M 30 Nov 2026 05:00:01.234 - Client closed connection id=5 addr=10.0.0.1:50000`}, []string{"redis-client-closed"}},
		{"redis idle timeout", LogFacts{Text: `4242:M 30 Nov 2026 05:00:01.234 - Closing idle client`}, []string{"redis-idle-timeout"}},
		{"redis maxclients", LogFacts{Text: `4242:M 30 Nov 2026 05:00:01.234 # max number of clients reached`}, []string{"redis-maxclients"}},
		{"go reset", LogFacts{Text: `2026/11/30 05:00:01 read tcp 10.0.0.3:8080->10.0.0.1:54321: read: connection reset by peer`}, []string{"go-reset"}},
		{"go broken pipe", LogFacts{Text: `2026/11/30 05:00:01 write tcp 10.0.0.3:8080->10.0.0.1:54321: write: broken pipe`}, []string{"go-broken-pipe"}},
		{"python reset", LogFacts{Text: `ConnectionResetError: [Errno 104] Connection reset by peer`}, []string{"python-reset"}},
		{"python broken pipe", LogFacts{Text: `BrokenPipeError: [Errno 32] Broken pipe`}, []string{"python-broken-pipe"}},
		{"java reset", LogFacts{Text: `Caused by: java.net.SocketException: Connection reset`}, []string{"java-reset"}},
		{"postgres reset", LogFacts{Text: `2026-11-30 05:00:01.250 UTC [4321] LOG:  could not receive data from client: Connection reset by peer`}, []string{"postgres-client-reset"}},
		{"postgres eof", LogFacts{Text: `2026-11-30 05:00:01.250 UTC [4321] LOG:  unexpected EOF on client connection with an open transaction`}, []string{"postgres-client-eof"}},
		{"envoy UC", LogFacts{EnvoyFlags: "UC"}, []string{"envoy-UC"}},
		{"envoy UF,URX", LogFacts{EnvoyFlags: "UF,URX"}, []string{"envoy-UF", "envoy-URX"}},
		{"envoy DC", LogFacts{EnvoyFlags: "DC"}, []string{"envoy-DC"}},
		{"envoy UT", LogFacts{EnvoyFlags: "UT"}, []string{"envoy-UT"}},
		{"envoy SI", LogFacts{EnvoyFlags: "SI"}, []string{"envoy-SI"}},
		{"envoy UFX is no UF", LogFacts{EnvoyFlags: "UFX"}, nil},
		{"kernel orphans", LogFacts{Text: `Nov 30 05:00:01 host kernel: TCP: too many orphaned sockets`}, []string{"kernel-orphans"}},
		{"kernel tcp_mem", LogFacts{Text: `kernel: TCP: out of memory -- consider tuning tcp_mem`}, []string{"kernel-tcp-mem"}},
		{"kernel syn flood", LogFacts{Text: `kernel: TCP: request_sock_TCP: Possible SYN flooding on port 10.0.0.2:8080. Sending cookies.`}, []string{"kernel-syn-flood"}},
		{"an ordinary line", LogFacts{Text: `10.0.0.1 - - [30/Nov/2026:05:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "-"`}, nil},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range MatchLog(tt.l) {
				got = append(got, s.ID)
				covered[s.ID] = true
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, s := range Signatures {
		if !covered[s.ID] {
			t.Errorf("signature %s has no test line", s.ID)
		}
		if s.Decides != "" && len(s.Replaces) == 0 {
			t.Errorf("signature %s decides %s but replaces nothing", s.ID, s.Decides)
		}
		for _, id := range append(append([]ID{s.Decides}, s.Confirms...), s.Replaces...) {
			if id != "" && Lookup(id).ID != id {
				t.Errorf("signature %s names %q, not in the vocabulary", s.ID, id)
			}
		}
	}
}

func sig(t *testing.T, id string) *Signature {
	t.Helper()
	for i := range Signatures {
		if Signatures[i].ID == id {
			return &Signatures[i]
		}
	}
	t.Fatalf("no signature %s", id)
	return nil
}

func TestApplyLogs(t *testing.T) {
	abort := Verdict{Cause: ApplicationAbort, Sender: Client, Confidence: 0.6, Evidence: []string{"wire"}}
	closed := Verdict{Cause: ClosedPort, Sender: Server, Confidence: 0.9, Evidence: []string{"wire"}}
	tests := []struct {
		name     string
		v        Verdict
		ms       []LogMatch
		cause    ID
		conf     float64
		evidence string
	}{
		{"haproxy sH on the session's server side changes abort to idle-timeout", abort,
			[]LogMatch{{Sig: sig(t, "haproxy-server-timeout-headers"), Where: "haproxy.log:2", Via: ViaSession}},
			IdleTimeout, logDecided, "haproxy logged termination state sH (haproxy.log:2): timeout server expired waiting for the response headers; haproxy closed the connection: idle-timeout rather than application-abort"},
		{"haproxy sH on the client's own connection changes nothing", abort,
			[]LogMatch{{Sig: sig(t, "haproxy-server-timeout-headers"), Where: "haproxy.log:2", Via: ViaConn}},
			ApplicationAbort, 0.6, "on the session's server side, not this connection"},
		{"haproxy sD by time only does not decide", abort,
			[]LogMatch{{Sig: sig(t, "haproxy-server-timeout"), Where: "h:1", Via: ViaTime}},
			ApplicationAbort, 0.6, "haproxy logged termination state sD (h:1)"},
		{"haproxy cD naming the connection decides", abort,
			[]LogMatch{{Sig: sig(t, "haproxy-client-timeout"), Where: "h:1", Via: ViaConn}},
			IdleTimeout, logDecided, "idle-timeout rather than application-abort"},
		{"a decisive line does not override a specific wire verdict", closed,
			[]LogMatch{{Sig: sig(t, "nginx-upstream-timeout"), Where: "e:1", Via: ViaConn}},
			ClosedPort, 0.9, "nginx logged"},
		{"an agreeing line nudges once", abort,
			[]LogMatch{{Sig: sig(t, "haproxy-client-abort"), Where: "h:1", Via: ViaConn}, {Sig: sig(t, "nginx-499"), Where: "a:1", Via: ViaConn}},
			ApplicationAbort, 0.6 + logConfirm, "agrees with application-abort"},
		{"a refusal agrees with closed-port", closed,
			[]LogMatch{{Sig: sig(t, "nginx-refused"), Where: "e:1", Via: ViaConn}},
			ClosedPort, 0.9 + logConfirm, "agrees with closed-port"},
		{"a witness only adds evidence", abort,
			[]LogMatch{{Sig: sig(t, "go-reset"), Where: "app:1", Via: ViaTime}},
			ApplicationAbort, 0.6, "go logged \"connection reset by peer\" (app:1): the application read a reset from its peer"},
		{"host-wide kernel line decides by time", Verdict{Cause: Unknown, Confidence: 0.2},
			[]LogMatch{{Sig: sig(t, "kernel-orphans"), Where: "journal:9", Via: ViaTime}},
			ResourceExhaustion, logDecided, "resource-exhaustion rather than unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.v
			in.Evidence = slices.Clone(tt.v.Evidence)
			got := ApplyLogs(tt.v, tt.ms)
			if got.Cause != tt.cause || fabs(got.Confidence-tt.conf) > 1e-9 {
				t.Errorf("got %s %.3f, want %s %.3f", got.Cause, got.Confidence, tt.cause, tt.conf)
			}
			if !strings.Contains(strings.Join(got.Evidence, "\n"), tt.evidence) {
				t.Errorf("evidence %q lacks %q", got.Evidence, tt.evidence)
			}
			if !slices.Equal(tt.v.Evidence, in.Evidence) {
				t.Errorf("ApplyLogs modified its input's evidence: %q", tt.v.Evidence)
			}
			if got.Cause != tt.v.Cause {
				if len(got.Alternatives) != 1 || got.Alternatives[0].Cause != tt.v.Cause || got.Confidence+got.Alternatives[0].Probability > 1+1e-9 {
					t.Errorf("alternatives %v: want the old cause, probabilities summing to at most 1", got.Alternatives)
				}
			}
			if got.Benign != Lookup(got.Cause).Benign {
				t.Errorf("benign %v, want the vocabulary's %v", got.Benign, Lookup(got.Cause).Benign)
			}
		})
	}
}

func fabs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
