// Command trafficgen makes bounded, real kernel TCP traffic for the rstscope
// benchmark capture (bench/mkcapture.sh). It has two modes, each run inside
// its own network namespace with `ip netns exec`:
//
//	trafficgen -mode server -addr4 10.77.0.2 -addr6 fd77::2
//	trafficgen -mode client -addr4 10.77.0.2 -addr6 fd77::2 -short 100000 ...
//
// The server listens on one port per behaviour (see the port constants); the
// client runs a fixed, shuffled plan of connections of each kind, spreads a
// share of them over IPv6, and prints what it did, by kind and family.
// Everything is bounded: the plan is a fixed count and -timeout stops the
// client early (what was not done is reported as skipped).
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
	portShort   = 8080 // read "n\n", write n bytes, close (server closes first: HTTP/1.0 style)
	portBulk    = 8081 // "G n\n": write n bytes, close; "P n\n": read n bytes, write "ok", close
	portAbort   = 8082 // read "n\n", write n bytes, then SO_LINGER{1,0} close: RST from the server
	portUnread  = 8083 // accept, never read, close after a short wait: RST (unread data / data after close)
	portHold    = 8084 // read "n\n", write n bytes, then wait for the client to end the connection
	portClosed0 = 9000 // 9000..9099 have no listener: SYN answered by RST+ACK
)

func main() {
	var cfg config
	flag.StringVar(&cfg.mode, "mode", "", "server or client")
	flag.StringVar(&cfg.addr4, "addr4", "10.77.0.2", "server IPv4 address")
	flag.StringVar(&cfg.addr6, "addr6", "fd77::2", "server IPv6 address (empty: no IPv6)")
	flag.IntVar(&cfg.short, "short", 100000, "client: short request/response connections (server closes first)")
	flag.IntVar(&cfg.abortClient, "abort-client", 8000, "client: connections the client aborts with SO_LINGER 0 after reading the whole response, server still open (RST from client)")
	flag.IntVar(&cfg.abortServer, "abort-server", 8000, "client: connections the server aborts with SO_LINGER 0 (RST from server)")
	flag.IntVar(&cfg.unread, "unread", 4000, "client: connections whose data the server never reads before closing (RST from server)")
	flag.IntVar(&cfg.closed, "closed", 6000, "client: SYNs to closed ports (RST+ACK)")
	flag.IntVar(&cfg.bulk, "bulk", 240, "client: bulk transfers (half download, half upload)")
	flag.IntVar(&cfg.bulkBytes, "bulk-bytes", 4<<20, "client: bytes per bulk transfer")
	flag.Float64Var(&cfg.v6Share, "v6", 0.2, "client: share of connections over IPv6, 0..1")
	flag.IntVar(&cfg.workers, "workers", 48, "client: parallel workers for short-lived connections")
	flag.IntVar(&cfg.bulkWorkers, "bulk-workers", 2, "client: parallel bulk transfers")
	flag.DurationVar(&cfg.timeout, "timeout", 4*time.Minute, "client: stop after this long; server: exit after this long")
	flag.Int64Var(&cfg.seed, "seed", 1, "client: seed for the plan's order and sizes")
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
	default:
		err = fmt.Errorf("-mode must be server or client, got %q", cfg.mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "trafficgen: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	mode, addr4, addr6                                    string
	short, abortClient, abortServer, unread, closed, bulk int
	bulkBytes, workers, bulkWorkers                       int
	v6Share                                               float64
	timeout                                               time.Duration
	seed                                                  int64
}
