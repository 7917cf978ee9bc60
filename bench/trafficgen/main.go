// Command trafficgen makes bounded, real kernel TCP traffic for the rstscope
// benchmark capture (bench/mkcapture.sh) and the truth harness
// (bench/mktruth.sh). It has two modes, each run inside its own network
// namespace with `ip netns exec`:
//
//	trafficgen -mode server -addr4 10.77.0.2 -addr6 fd77::2
//	trafficgen -mode client -addr4 10.77.0.2 -addr6 fd77::2 -short 100000 ... [-log scenarios.tsv]
//
// The server listens on one port per behaviour (see the port constants); the
// client runs a fixed, shuffled plan of connections of each kind, spreads a
// share of them over IPv6, and prints what it did, by kind and family. With
// -log it also writes one TSV line per connection (see scenario.go), keyed by
// the client's 4-tuple, so a scorer can tell which scenario each reset in a
// capture belongs to. Everything is bounded: the plan is a fixed count and
// -timeout stops the client early (what was not done is reported as skipped).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Server ports, one per behaviour, so a capture can be read by port too.
const (
	portShort         = 8080 // read "n\n", write n bytes, close (server closes first: HTTP/1.0 style)
	portBulk          = 8081 // "G n\n": write n bytes, close; "P n\n": read n bytes, write "ok", close
	portAbort         = 8082 // read "n\n", write n bytes, then SO_LINGER{1,0} close: RST from the server
	portUnread        = 8083 // accept, never read, close after a short wait: RST (unread data / data after close)
	portHold          = 8084 // read "n\n", write n bytes, then wait for the client to end the connection
	portKeepAlive     = 8085 // "n\n" answered with n bytes, again and again; closes after an idle time
	portUpload        = 8086 // "U n\n" then n bytes: answers "413\n" after the line and closes with the body unread
	portAbortRead     = 8087 // read "n\n", wait for more to arrive, SO_LINGER{1,0} close with it unread
	portPipeline      = 8088 // read one "n\n", answer it, close with the pipelined requests unread
	portRestart       = 8089 // a listener that never accepts and is closed and reopened every restartEvery
	portKill          = 8090 // read "n\n", write n bytes and hold: the client's child process is killed
	portVanish        = 8091 // read "n\n", write n bytes and hold: the client then disappears (drop rule)
	portAbandon       = 8092 // accept and hold: the SYN-ACKs to these SYNs are delayed by a drop rule
	portVanishRetrans = 8093 // read "n\n", write n bytes, wait, write again with a short TCP_USER_TIMEOUT
	portRepeat        = 8094 // "n\n" answered with n bytes, again and again, until the client closes
	portIdle          = 8095 // on -raddr4/-raddr6 only (behind the router): answers requests until the client closes
	portClosed0       = 9000 // 9000..9099 have no listener: SYN answered by RST+ACK
)

func main() {
	var cfg config
	flag.StringVar(&cfg.mode, "mode", "", "server, client or child (one connection held by a process that its parent kills)")
	flag.StringVar(&cfg.addr4, "addr4", "10.77.0.2", "server IPv4 address")
	flag.StringVar(&cfg.addr6, "addr6", "fd77::2", "server IPv6 address (empty: no IPv6)")
	flag.IntVar(&cfg.counts[kShort], "short", 100000, "client: short request/response connections (server closes first)")
	flag.IntVar(&cfg.counts[kAbortClient], "abort-client", 8000, "client: connections the client aborts with SO_LINGER 0 after reading the whole response, server still open (RST from client)")
	flag.IntVar(&cfg.counts[kAbortServer], "abort-server", 8000, "client: connections the server aborts with SO_LINGER 0 (RST from server)")
	flag.IntVar(&cfg.counts[kUnread], "unread", 4000, "client: connections whose data the server never reads before closing (RST from server)")
	flag.IntVar(&cfg.counts[kClosed], "closed", 6000, "client: SYNs to closed ports (RST+ACK)")
	flag.IntVar(&cfg.bulk, "bulk", 240, "client: bulk transfers (half download, half upload)")
	flag.IntVar(&cfg.counts[kKeepAlive], "keepalive", 0, "client: keep-alive connections, 2-5 requests each, closed by the client (FIN)")
	flag.IntVar(&cfg.counts[kKeepAliveRace], "keepalive-race", 0, "client: keep-alive connections whose next request races the server's idle close")
	flag.IntVar(&cfg.counts[kRefusedUpload], "refused-upload", 0, "client: uploads the server refuses (413) and closes with the body unread")
	flag.IntVar(&cfg.counts[kPartialRead], "partial-read", 0, "client: streamed responses the client reads in part and closes")
	flag.IntVar(&cfg.counts[kAbortClientUnread], "abort-client-unread", 0, "client: SO_LINGER 0 close by the client with response data unread")
	flag.IntVar(&cfg.counts[kAbortServerUnread], "abort-server-unread", 0, "client: SO_LINGER 0 close by the server with request data unread")
	flag.IntVar(&cfg.counts[kPipeline], "pipeline", 0, "client: three pipelined requests; the server answers one and closes")
	flag.IntVar(&cfg.counts[kListenerClosed], "listener-closed", 0, "client: connections left in the accept queue of a listener that is then closed (service restart)")
	flag.IntVar(&cfg.counts[kKilled], "killed", 0, "client: connections held by a child process that is killed (SIGKILL) mid-response")
	flag.IntVar(&cfg.counts[kVanish], "vanish-keepalive", 0, "client: connections whose client vanishes (drop rule of mktruth.sh) until the server's keepalive gives up")
	flag.IntVar(&cfg.counts[kVanishRetrans], "vanish-retrans", 0, "client: connections whose client vanishes (drop rule of mktruth.sh) while the server sends, until it gives up, and then comes back")
	flag.IntVar(&cfg.counts[kAbandoned], "abandoned", 0, "client: connection attempts closed before the SYN-ACK arrives (needs the drop rule of mktruth.sh)")
	flag.IntVar(&cfg.counts[kIdleRouter], "idle-router", 0, "client: connections through the conntrack router (-raddr4/-raddr6) that sit idle past its timeout, then send")
	flag.IntVar(&cfg.counts[kScan], "scan", 0, "client: bare SYNs from a raw socket (a SYN scan), half to open ports, half to closed")
	flag.StringVar(&cfg.raddr4, "raddr4", "", "server IPv4 address behind the conntrack router (empty: no idle-router kind)")
	flag.StringVar(&cfg.raddr6, "raddr6", "", "server IPv6 address behind the conntrack router")
	flag.IntVar(&cfg.bulkBytes, "bulk-bytes", 4<<20, "client: bytes per bulk transfer")
	flag.Float64Var(&cfg.v6Share, "v6", 0.2, "client: share of connections over IPv6, 0..1")
	flag.IntVar(&cfg.workers, "workers", 48, "client: parallel workers for short-lived connections")
	flag.IntVar(&cfg.bulkWorkers, "bulk-workers", 2, "client: parallel bulk transfers")
	flag.DurationVar(&cfg.timeout, "timeout", 4*time.Minute, "client: stop after this long; server: exit after this long")
	flag.Int64Var(&cfg.seed, "seed", 1, "client: seed for the plan's order and sizes")
	flag.StringVar(&cfg.logFile, "log", "", "client: write one TSV line per connection (client, server, kind, family, start) to this file")
	flag.StringVar(&cfg.srcPorts, "src-ports", "1024-9999", "client: source ports bound explicitly for kinds whose connection may fail (outside ip_local_port_range)")
	flag.StringVar(&cfg.self, "self", "", "client: this program's path, for -killed (default: os.Executable)")
	flag.StringVar(&cfg.target, "target", "", "child: ip:port to connect to")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	var err error
	switch cfg.mode {
	case "server":
		err = serve(ctx, cfg)
	case "client":
		err = runClient(ctx, cfg, os.Stdout)
	case "child":
		err = runChild(cfg.target)
	default:
		err = fmt.Errorf("-mode must be server, client or child, got %q", cfg.mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "trafficgen: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	mode, addr4, addr6              string
	raddr4, raddr6                  string
	counts                          [numKinds]int // per kind; the bulk kinds come from bulk
	bulk                            int
	bulkBytes, workers, bulkWorkers int
	v6Share                         float64
	timeout                         time.Duration
	seed                            int64
	logFile, srcPorts, self, target string
}
