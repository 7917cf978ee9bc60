package cause

import (
	"fmt"
	"slices"
	"strings"
)

// SignatureKind says what part of a log line a signature looks at.
type SignatureKind uint8

const (
	// InText: the line's text contains Match (case-sensitive: Go writes
	// "connection reset by peer", nginx and PostgreSQL "Connection reset").
	InText SignatureKind = iota
	// HAProxyState: haproxy's termination state starts with Match.
	HAProxyState
	// EnvoyFlag: Match is one of Envoy's comma-separated response flags.
	EnvoyFlag
)

// Signature is a log line a program writes when a connection of its ends in
// a way that bears on a reset's cause.
type Signature struct {
	ID      string
	Program string
	Kind    SignatureKind
	Match   string
	// Label is how the evidence names the match, when Match itself reads
	// badly there.
	Label string
	// Meaning is what the program says happened, in a few words.
	Meaning string
	// Confirms lists the causes the line agrees with; a verdict among them
	// gains a little confidence. Empty: the line witnesses a reset without
	// saying why (an application that read "connection reset by peer").
	Confirms []ID
	// Decides is the cause the line establishes on its own, over a wire
	// verdict in Replaces: a proxy's timeout looks like an application's
	// abort on the wire, and only the proxy knows its timer ran out.
	Decides  ID
	Replaces []ID
	// HostWide signatures describe the whole host (the kernel out of
	// memory) and may decide without naming the connection; the rest
	// decide only when the line names it.
	HostWide bool
	// ServerSide signatures are about a proxy's connection to its server,
	// on a line that names only the session's client (haproxy's log):
	// they bear on a reset of the server-side connection (joined by
	// time, ViaSession) and not on the client's connection the line names.
	ServerSide bool
	// SessionSender is who sends the reset on that server-side connection:
	// Client (the proxy, which connected to the server) when the proxy's
	// timer ran out, Server when the server aborted.
	SessionSender Sender
}

// abortLike are the wire verdicts a program's own deliberate close can hide
// behind: a timer-driven abort has no protocol anomaly before it.
var abortLike = []ID{ApplicationAbort, Unknown, UnreadDataClose, DataAfterClose}

var (
	refused     = []ID{ClosedPort, AcceptQueueOverflow, FirewallReject}
	peerClosed  = []ID{ApplicationAbort, HalfOpen, UnreadDataClose, IdleTimeout}
	clientAbort = []ID{ApplicationAbort, UnreadDataClose, DataAfterClose}
)

// Signatures is the table of known log signatures. Sources: nginx's
// ngx_http_upstream.c and ngx_event_*.c messages; haproxy's configuration
// manual §8.5 (termination states); redis networking.c; Go's syscall
// errors; CPython's OSError subclasses; java.net.SocketException;
// PostgreSQL's pqcomm.c; Envoy's access-log response flags.
var Signatures = []Signature{
	// nginx
	{ID: "nginx-upstream-closed", Program: "nginx", Match: "upstream prematurely closed connection", Meaning: "the upstream closed the connection before a full response", Confirms: peerClosed},
	{ID: "nginx-upstream-timeout", Program: "nginx", Match: "upstream timed out (110: Connection timed out)", Meaning: "nginx's proxy timeout ran out waiting for the upstream; nginx ended the connection", Decides: IdleTimeout, Replaces: abortLike},
	{ID: "nginx-refused", Program: "nginx", Match: "(111: Connection refused)", Meaning: "the upstream refused the connection", Confirms: refused},
	{ID: "nginx-reset", Program: "nginx", Match: "(104: Connection reset by peer)", Meaning: "nginx read a reset from its peer"},
	{ID: "nginx-broken-pipe", Program: "nginx", Match: "(32: Broken pipe)", Meaning: "nginx wrote to a connection its peer had reset"},
	{ID: "nginx-client-closed", Program: "nginx", Match: "client prematurely closed connection", Meaning: "the client went away mid-request", Confirms: clientAbort},
	{ID: "nginx-499", Program: "nginx", Match: `" 499 `, Label: "status 499", Meaning: "access log status 499: the client closed the request", Confirms: clientAbort},
	{ID: "nginx-worker-connections", Program: "nginx", Match: "worker_connections are not enough", Meaning: "nginx ran out of connections", Confirms: []ID{ResourceExhaustion, ApplicationAbort}},
	// haproxy termination states: first character who or what ended the
	// session, second the phase it was in.
	{ID: "haproxy-server-timeout", Program: "haproxy", Kind: HAProxyState, ServerSide: true, SessionSender: Client, Match: "sD", Meaning: "timeout server expired during the data phase; haproxy closed the connection", Decides: IdleTimeout, Replaces: abortLike},
	{ID: "haproxy-server-timeout-headers", Program: "haproxy", Kind: HAProxyState, ServerSide: true, SessionSender: Client, Match: "sH", Meaning: "timeout server expired waiting for the response headers; haproxy closed the connection", Decides: IdleTimeout, Replaces: abortLike},
	{ID: "haproxy-server-timeout-last", Program: "haproxy", Kind: HAProxyState, ServerSide: true, SessionSender: Client, Match: "sL", Meaning: "timeout server expired on the last data; haproxy closed the connection", Decides: IdleTimeout, Replaces: abortLike},
	{ID: "haproxy-client-timeout", Program: "haproxy", Kind: HAProxyState, Match: "cD", Meaning: "timeout client expired during the data phase; haproxy closed the connection", Decides: IdleTimeout, Replaces: abortLike},
	{ID: "haproxy-client-timeout-request", Program: "haproxy", Kind: HAProxyState, Match: "cR", Meaning: "timeout http-request expired before a full request; haproxy closed the connection", Decides: IdleTimeout, Replaces: abortLike},
	{ID: "haproxy-server-refused", Program: "haproxy", Kind: HAProxyState, ServerSide: true, SessionSender: Server, Match: "SC", Meaning: "the server refused the connection", Confirms: refused},
	{ID: "haproxy-server-abort-headers", Program: "haproxy", Kind: HAProxyState, ServerSide: true, SessionSender: Server, Match: "SH", Meaning: "the server aborted before sending complete headers", Confirms: peerClosed},
	{ID: "haproxy-server-abort", Program: "haproxy", Kind: HAProxyState, ServerSide: true, SessionSender: Server, Match: "SD", Meaning: "the server aborted during the data phase", Confirms: peerClosed},
	{ID: "haproxy-client-abort", Program: "haproxy", Kind: HAProxyState, Match: "CD", Meaning: "the client aborted during the data phase", Confirms: clientAbort},
	{ID: "haproxy-client-abort-request", Program: "haproxy", Kind: HAProxyState, Match: "CR", Meaning: "the client aborted before sending a full request", Confirms: clientAbort},
	{ID: "haproxy-client-abort-headers", Program: "haproxy", Kind: HAProxyState, Match: "CH", Meaning: "the client aborted while waiting for the response headers", Confirms: clientAbort},
	{ID: "haproxy-resource", Program: "haproxy", Kind: HAProxyState, Match: "R", Meaning: "haproxy ran out of a resource (memory, sockets, source ports)", Confirms: []ID{ResourceExhaustion}},
	// redis
	{ID: "redis-client-closed", Program: "redis", Match: "Client closed connection", Meaning: "the client closed its connection", Confirms: []ID{ApplicationAbort, UnreadDataClose, HalfOpen}},
	// clientsCronHandleTimeout at loglevel verbose, then a plain close
	// (FIN): the client's next command meets a closed socket.
	{ID: "redis-idle-timeout", Program: "redis", Match: "Closing idle client", Meaning: "redis closed a client idle past its timeout setting", Confirms: []ID{DataAfterClose, IdleTimeout}},
	{ID: "redis-maxclients", Program: "redis", Match: "max number of clients reached", Meaning: "redis refused a client over maxclients and closed it", Confirms: []ID{ApplicationAbort, UnreadDataClose, ResourceExhaustion}},
	// Go, Python, Java: an application that met the reset.
	{ID: "go-reset", Program: "go", Match: "connection reset by peer", Meaning: "the application read a reset from its peer"},
	{ID: "go-broken-pipe", Program: "go", Match: "write: broken pipe", Meaning: "the application wrote to a connection its peer had reset"},
	{ID: "python-reset", Program: "python", Match: "ConnectionResetError", Meaning: "the application read a reset from its peer"},
	{ID: "python-broken-pipe", Program: "python", Match: "BrokenPipeError", Meaning: "the application wrote to a connection its peer had reset"},
	{ID: "java-reset", Program: "java", Match: "SocketException: Connection reset", Meaning: "the application read a reset from its peer"},
	{ID: "postgres-client-reset", Program: "postgresql", Match: "could not receive data from client", Meaning: "the server lost its client mid-read"},
	{ID: "postgres-client-eof", Program: "postgresql", Match: "unexpected EOF on client connection", Meaning: "the client went away without saying goodbye", Confirms: clientAbort},
	// Envoy response flags.
	{ID: "envoy-UC", Program: "envoy", Kind: EnvoyFlag, Match: "UC", Meaning: "the upstream connection was terminated", Confirms: peerClosed},
	{ID: "envoy-UF", Program: "envoy", Kind: EnvoyFlag, Match: "UF", Meaning: "the upstream connection failed", Confirms: refused},
	{ID: "envoy-URX", Program: "envoy", Kind: EnvoyFlag, Match: "URX", Meaning: "the upstream retry or connect-attempt limit was reached", Confirms: refused},
	{ID: "envoy-DC", Program: "envoy", Kind: EnvoyFlag, Match: "DC", Meaning: "the downstream connection was terminated", Confirms: clientAbort},
	{ID: "envoy-UT", Program: "envoy", Kind: EnvoyFlag, Match: "UT", Meaning: "the upstream request timeout ran out; Envoy reset the upstream", Decides: IdleTimeout, Replaces: abortLike},
	{ID: "envoy-SI", Program: "envoy", Kind: EnvoyFlag, Match: "SI", Meaning: "the stream idle timeout ran out", Decides: IdleTimeout, Replaces: abortLike},
	// The kernel (journald, dmesg).
	{ID: "kernel-orphans", Program: "kernel", Match: "too many orphaned sockets", Meaning: "the kernel killed sockets over tcp_max_orphans", Decides: ResourceExhaustion, Replaces: []ID{ApplicationAbort, Unknown, HalfOpen}, HostWide: true},
	{ID: "kernel-tcp-mem", Program: "kernel", Match: "out of memory -- consider tuning tcp_mem", Meaning: "the kernel ran out of TCP memory", Decides: ResourceExhaustion, Replaces: []ID{ApplicationAbort, Unknown, HalfOpen}, HostWide: true},
	{ID: "kernel-syn-flood", Program: "kernel", Match: "Possible SYN flooding on port", Meaning: "a listener's SYN queue overflowed", Confirms: []ID{AcceptQueueOverflow}},
}

// LogFacts are the parts of one log line signatures look at.
type LogFacts struct {
	Text         string
	HAProxyState string
	EnvoyFlags   string
}

// MatchLog returns the signatures a line carries, in table order.
func MatchLog(l LogFacts) []*Signature {
	var out []*Signature
	for i := range Signatures {
		s := &Signatures[i]
		switch s.Kind {
		case InText:
			if strings.Contains(l.Text, s.Match) {
				out = append(out, s)
			}
		case HAProxyState:
			if l.HAProxyState != "" && strings.HasPrefix(l.HAProxyState, s.Match) {
				out = append(out, s)
			}
		case EnvoyFlag:
			if l.EnvoyFlags != "" && slices.Contains(strings.Split(l.EnvoyFlags, ","), s.Match) {
				out = append(out, s)
			}
		}
	}
	return out
}

// LogVia says what ties a log line to a reset.
type LogVia uint8

const (
	// ViaTime: only its time; the line names no address.
	ViaTime LogVia = iota
	// ViaSession: a proxy's line naming the client side of a session,
	// within milliseconds of a reset on another connection: the session's
	// server side, which the line does not name.
	ViaSession
	// ViaConn: the line names the reset's connection (its addresses).
	ViaConn
)

// LogMatch is one signature found on a line joined to a reset.
type LogMatch struct {
	Sig *Signature
	// Where names the line ("error.log:12").
	Where string
	Via   LogVia
}

// logConfirm is how much a line that agrees with the verdict adds: a
// nudge, since a program's line says what it saw, not what the wire did;
// never up to certainty (TestAnalyzeLogsRedis's data-after-close at 0.95
// read 1.00 with redis's agreeing line).
const (
	logConfirm    = 0.05
	logConfirmMax = 0.99
)

// logDecided is the confidence of a verdict a decisive signature set on a
// line that names the connection: the program's own statement of why it
// closed outranks the wire's "no anomaly before it".
const logDecided = 0.85

// ApplyLogs refines a verdict with the signatures of the log lines joined
// to its reset. A decisive signature changes the cause only from a verdict
// it may replace, and (unless host-wide) only on a line that names the
// connection (or, for a proxy's server-side state, names its session);
// agreeing lines raise the confidence a little; every match is
// stated in the evidence. It is a pure function: v's slices are not
// modified.
func ApplyLogs(v Verdict, ms []LogMatch) Verdict {
	if len(ms) == 0 {
		return v
	}
	v.Evidence = slices.Clone(v.Evidence)
	said := func(m LogMatch) string {
		s := m.Sig
		return fmt.Sprintf("%s logged %s (%s): %s", s.Program, quoteSig(s), m.Where, s.Meaning)
	}
	// The first decisive line decides; the others are then read against
	// the cause it set.
	decided := -1
	for i, m := range ms {
		s := m.Sig
		decisive := s.HostWide || m.Via == ViaConn && !s.ServerSide || m.Via == ViaSession && s.ServerSide
		if s.Decides != "" && s.Decides != v.Cause && slices.Contains(s.Replaces, v.Cause) && decisive {
			old := v
			v.Cause, v.Confidence = s.Decides, max(logDecided, v.Confidence)
			v.Alternatives = []Alternative{{Cause: old.Cause, Probability: min(1-v.Confidence, old.Confidence)}}
			v.Evidence = append(v.Evidence, fmt.Sprintf("%s: %s rather than %s", said(m), s.Decides, old.Cause))
			decided = i
			break
		}
	}
	seen := map[string]bool{}
	if decided >= 0 {
		seen[ms[decided].Sig.ID] = true
	}
	confirmed := false
	for _, m := range ms {
		s := m.Sig
		if seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		said := said(m)
		switch {
		case s.ServerSide && m.Via == ViaConn:
			v.Evidence = append(v.Evidence, said+" — on the session's server side, not this connection")
		case s.Decides == v.Cause || slices.Contains(s.Confirms, v.Cause):
			if !confirmed {
				v.Confidence = min(v.Confidence+logConfirm, 1-altSum(v.Alternatives), max(v.Confidence, logConfirmMax))
				confirmed = true
			}
			v.Evidence = append(v.Evidence, said+": agrees with "+string(v.Cause))
		default:
			v.Evidence = append(v.Evidence, said)
		}
	}
	v.Benign = Lookup(v.Cause).Benign
	return v
}

func altSum(as []Alternative) float64 {
	s := 0.0
	for _, a := range as {
		s += a.Probability
	}
	return s
}

func quoteSig(s *Signature) string {
	if s.Label != "" {
		return s.Label
	}
	switch s.Kind {
	case HAProxyState:
		return "termination state " + s.Match
	case EnvoyFlag:
		return "response flag " + s.Match
	}
	return fmt.Sprintf("%q", s.Match)
}
