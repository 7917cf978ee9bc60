// Package cause holds rstscope's closed vocabulary of reset causes, the
// ordered pure rules that pick one for a reset, and sender attribution.
package cause

// ID is a cause's stable identifier. JSON, metric labels, docs and tests use
// exactly these strings; the table in vocabulary.go documents each one.
type ID string

// The vocabulary of DESIGN.md, in the order the docs list it.
const (
	ClosedPort            ID = "closed-port"
	SYNConflict           ID = "syn-conflict"
	AcceptQueueOverflow   ID = "accept-queue-overflow"
	HalfOpen              ID = "half-open"
	FirewallReject        ID = "firewall-reject"
	TimeWaitAssassination ID = "time-wait-assassination"
	ApplicationAbort      ID = "application-abort"
	IdleTimeout           ID = "idle-timeout"
	UnreadDataClose       ID = "unread-data-close"
	DataAfterClose        ID = "data-after-close"
	Injected              ID = "injected"
	DuplicateIP           ID = "duplicate-ip"
	InvalidSegment        ID = "invalid-segment"
	ResourceExhaustion    ID = "resource-exhaustion"
	ListenerClosed        ID = "listener-closed"
	ConnectAbandoned      ID = "connect-abandoned"
	RetransmissionTimeout ID = "retransmission-timeout"
	ScanProbe             ID = "scan-probe"
	Unknown               ID = "unknown"
)

func (id ID) String() string { return string(id) }

// Sender says who put a reset on the wire.
type Sender string

const (
	// Client is the side that sent the SYN.
	Client Sender = "client"
	// Server is the side that received the SYN.
	Server Sender = "server"
	// Middlebox is a device in the path that forged an endpoint's address.
	Middlebox Sender = "middlebox"
	// SenderUnknown means the evidence does not say who sent it.
	SenderUnknown Sender = "unknown"
)

func (s Sender) String() string { return string(s) }
