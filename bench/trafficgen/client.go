package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// kind is one behaviour of a planned connection.
type kind int

const (
	kShort             kind = iota // request/response, server closes first, normal FIN close
	kAbortClient                   // client reads the whole response, then aborts: SO_LINGER 0 → RST from client
	kAbortServer                   // server aborts after writing the response: SO_LINGER 0 → RST from server
	kUnread                        // server closes without reading the client's data → RST from server
	kClosed                        // SYN to a port with no listener → RST+ACK
	kBulkGet                       // download of bulk-bytes
	kBulkPut                       // upload of bulk-bytes
	kKeepAlive                     // 2-5 requests on one connection, client closes (FIN)
	kKeepAliveRace                 // the client's next request races the server's idle close
	kRefusedUpload                 // server answers 413 after the headers and closes with the body unread
	kPartialRead                   // client reads part of a streamed response and closes
	kAbortClientUnread             // client SO_LINGER 0 close with response data unread
	kAbortServerUnread             // server SO_LINGER 0 close with request data unread
	kPipeline                      // three requests at once; the server answers one and closes
	kListenerClosed                // left in the accept queue of a listener that is closed (restart)
	kKilled                        // a child process holding the socket is killed mid-response
	kVanish                        // the client vanishes (drop rule); the server's keepalive gives up
	kVanishRetrans                 // the client vanishes while the server sends, then comes back
	kAbandoned                     // the SYN sender closes before the SYN-ACK gets through
	kIdleRouter                    // through a conntrack router, idle past its timeout, then a request: the router resets
	kScan                          // a bare SYN from a raw socket (a SYN scan) to an open or a closed port
	numKinds
)

var kindNames = [numKinds]string{"short", "abort-client", "abort-server", "unread-close", "closed-port",
	"bulk-download", "bulk-upload", "keepalive", "keepalive-race", "refused-upload", "partial-read",
	"abort-client-unread", "abort-server-unread", "pipeline", "listener-closed", "killed",
	"vanish-keepalive", "vanish-retrans", "abandoned", "idle-router", "scan"}

func (k kind) String() string { return kindNames[k] }

// Socket marks the harness's drop rules match (bench/mktruth.sh): packets
// of a socket marked vanishMark are dropped both ways in the client's
// namespace; SYN-ACKs to a socket marked abandonMark are dropped.
const (
	vanishMark  = 0x77
	abandonMark = 0x78
)

type job struct {
	kind kind
	v6   bool
	size int
	port int
}

// stats counts outcomes per kind and family; index 0 is IPv4, 1 is IPv6.
type stats struct {
	ok, failed, skipped [numKinds][2]atomic.Int64
	bytes               atomic.Int64
	mu                  sync.Mutex
	firstErrs           map[string]int
}

func (s *stats) fail(j job, err error) {
	s.failed[j.kind][fam(j.v6)].Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := j.kind.String() + ": " + err.Error()
	if len(s.firstErrs) < 20 || s.firstErrs[msg] > 0 {
		s.firstErrs[msg]++
	}
}

func fam(v6 bool) int {
	if v6 {
		return 1
	}
	return 0
}

// plan makes the fixed list of connections: n of each kind, the i-th of a
// kind over IPv6 when floor((i+1)·share) steps up, so every kind gets the
// same IPv6 share.
func plan(cfg config, rng *rand.Rand) (small, bulk []job) {
	counts := cfg.counts
	counts[kBulkGet], counts[kBulkPut] = (cfg.bulk+1)/2, cfg.bulk/2
	for k, n := range counts {
		for i := 0; i < n; i++ {
			j := job{kind: kind(k)}
			if cfg.addr6 != "" {
				j.v6 = int(float64(i+1)*cfg.v6Share) > int(float64(i)*cfg.v6Share)
			}
			switch j.kind {
			case kShort:
				j.port, j.size = portShort, 100+rng.Intn(4000)
			case kAbortClient:
				j.port, j.size = portHold, 100+rng.Intn(4000)
			case kKeepAlive:
				j.port, j.size = portRepeat, 100+rng.Intn(4000)
			case kAbortServer:
				j.port, j.size = portAbort, 100+rng.Intn(4000)
			case kUnread:
				j.port, j.size = portUnread, 1000+rng.Intn(8000)
			case kClosed:
				j.port = portClosed0 + rng.Intn(100)
			case kBulkGet, kBulkPut:
				j.port, j.size = portBulk, cfg.bulkBytes
			case kKeepAliveRace:
				j.port, j.size = portKeepAlive, 100+rng.Intn(2000)
			case kRefusedUpload:
				j.port, j.size = portUpload, 64<<10+rng.Intn(192<<10)
			case kPartialRead, kAbortClientUnread:
				j.port, j.size = portHold, 128<<10+rng.Intn(128<<10)
			case kAbortServerUnread:
				j.port, j.size = portAbortRead, 500+rng.Intn(3000)
			case kPipeline:
				j.port, j.size = portPipeline, 100+rng.Intn(2000)
			case kListenerClosed:
				j.port, j.size = portRestart, 100+rng.Intn(1000)
			case kKilled:
				j.port, j.size = portKill, 256<<10
			case kVanish:
				j.port, j.size = portVanish, 100+rng.Intn(1000)
			case kVanishRetrans:
				j.port, j.size = portVanishRetrans, 100+rng.Intn(1000)
			case kAbandoned:
				j.port = portAbandon
			case kIdleRouter:
				j.port, j.size = portIdle, 100+rng.Intn(2000)
			case kScan:
				// Half to the open service ports, half to closed ones.
				j.port = portShort + rng.Intn(portRepeat-portShort+1)
				if rng.Intn(2) == 0 {
					j.port = portClosed0 + rng.Intn(100)
				}
			}
			if j.kind == kBulkGet || j.kind == kBulkPut {
				bulk = append(bulk, j)
			} else {
				small = append(small, j)
			}
		}
	}
	rng.Shuffle(len(small), func(a, b int) { small[a], small[b] = small[b], small[a] })
	rng.Shuffle(len(bulk), func(a, b int) { bulk[a], bulk[b] = bulk[b], bulk[a] })
	return small, bulk
}

// client holds what every connection of a run shares.
type client struct {
	cfg            config
	log            *scenarioLog
	ports          *portPool
	local4, local6 string // the client's own addresses, for explicitly bound sockets
	s              *stats
}

// runClient runs the plan with cfg.workers parallel short-lived connections
// and cfg.bulkWorkers parallel bulk transfers, then prints the outcome.
func runClient(ctx context.Context, cfg config, out io.Writer) error {
	rng := rand.New(rand.NewSource(cfg.seed))
	small, bulk := plan(cfg, rng)
	cl := &client{cfg: cfg, s: &stats{firstErrs: map[string]int{}}}
	var err error
	if cl.ports, err = newPortPool(cfg.srcPorts); err != nil {
		return err
	}
	if cl.log, err = openScenarioLog(cfg.logFile); err != nil {
		return err
	}
	cl.local4 = localIP(cfg.addr4)
	if cfg.addr6 != "" {
		cl.local6 = localIP(cfg.addr6)
	}
	if cfg.counts[kIdleRouter] > 0 && (cfg.raddr4 == "" || (cfg.raddr6 == "" && cfg.addr6 != "" && cfg.v6Share > 0)) {
		return errors.New("-idle-router needs -raddr4 (and -raddr6 with IPv6)")
	}
	if cfg.self == "" {
		cfg.self, _ = os.Executable()
		cl.cfg.self = cfg.self
	}
	s := cl.s
	start := time.Now()
	var wg sync.WaitGroup
	feed := func(jobs []job, workers int) {
		ch := make(chan job)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range ch {
					if ctx.Err() != nil {
						s.skipped[j.kind][fam(j.v6)].Add(1)
						continue
					}
					if err := cl.do(ctx, j); err != nil {
						s.fail(j, err)
					} else {
						s.ok[j.kind][fam(j.v6)].Add(1)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range jobs {
				ch <- j
			}
			close(ch)
		}()
	}
	feed(small, cfg.workers)
	feed(bulk, cfg.bulkWorkers)
	wg.Wait()
	report(out, cfg, s, time.Since(start))
	return cl.log.close()
}

// localIP is the source address the kernel picks toward dst (a UDP
// "connect" sends nothing).
func localIP(dst string) string {
	c, err := net.Dial("udp", net.JoinHostPort(dst, "9"))
	if err != nil {
		return ""
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}

func (j job) addr(cfg config) string {
	host := cfg.addr4
	if j.v6 {
		host = cfg.addr6
	}
	if j.kind == kIdleRouter {
		host = cfg.raddr4
		if j.v6 {
			host = cfg.raddr6
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(j.port))
}

// expected reports whether err is what a reset or a refused connect makes.
func expected(err error) bool {
	return err == nil || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.EOF)
}

// dial connects for j and logs the connection. Kinds whose connect may fail
// bind a source port from the pool first, so the log has the 4-tuple even
// then.
func (cl *client) dial(ctx context.Context, j job, mark int, timeout time.Duration) (*net.TCPConn, error) {
	start := time.Now()
	srv := j.addr(cl.cfg)
	switch j.kind {
	case kClosed, kListenerClosed, kAbandoned:
		ip := cl.local4
		if j.v6 {
			ip = cl.local6
		}
		port := cl.ports.take()
		cl.log.add(net.JoinHostPort(ip, strconv.Itoa(port)), srv, j.kind, j.v6, start)
		d := boundDialer(ip, port, mark)
		d.Timeout = timeout
		c, err := d.DialContext(ctx, "tcp", srv)
		if err != nil {
			return nil, err
		}
		return c.(*net.TCPConn), nil
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", srv)
	if err != nil {
		return nil, err
	}
	cl.log.add(c.LocalAddr().String(), srv, j.kind, j.v6, start)
	return c.(*net.TCPConn), nil
}

// do runs one planned connection. A nil error means it behaved as planned
// (for kClosed: the connection was refused).
func (cl *client) do(ctx context.Context, j job) error {
	s := cl.s
	switch j.kind {
	case kKilled:
		return cl.killed(ctx, j)
	case kScan:
		ip := cl.local4
		if j.v6 {
			ip = cl.local6
		}
		src := netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(cl.ports.take()))
		dst := netip.MustParseAddrPort(j.addr(cl.cfg))
		cl.log.add(src.String(), dst.String(), j.kind, j.v6, time.Now())
		return synProbe(src, dst)
	case kAbandoned:
		// The drop rule holds back every SYN-ACK while this socket is open;
		// the timeout closes it in SYN-SENT (no reset: tcp_need_reset leaves
		// SYN-SENT out), so the server's retransmitted SYN-ACK at ~1 s finds
		// no socket and the client's kernel resets it.
		c, err := cl.dial(ctx, j, abandonMark, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return errors.New("connected although the SYN-ACKs were to be dropped")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	}
	c, err := cl.dial(ctx, j, 0, 3*time.Second)
	if j.kind == kClosed {
		if err == nil {
			c.Close()
			return errors.New("connected to a port meant to be closed")
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		return err
	}
	if err != nil {
		if j.kind == kListenerClosed && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)) {
			return nil // reached the port while the listener was down, or was reset by its close mid-handshake
		}
		return err
	}
	tc := c
	defer tc.Close()
	limit := 10 * time.Second
	if j.kind == kBulkGet || j.kind == kBulkPut {
		limit = 60 * time.Second
	}
	tc.SetDeadline(time.Now().Add(limit))
	request := func() error {
		_, err := fmt.Fprintf(tc, "%d\n", j.size)
		return err
	}

	switch j.kind {
	case kShort:
		if err := request(); err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, tc)
		if err != nil {
			return err
		}
		if int(n) != j.size {
			return fmt.Errorf("got %d bytes, want %d", n, j.size)
		}
		s.bytes.Add(n)
	case kAbortClient:
		if err := request(); err != nil {
			return err
		}
		// Read it all: with unread data in the receive buffer, tcp_close()
		// would send its RST for that reason (TCP_ABORT_ON_CLOSE), not for
		// the linger setting.
		n, err := io.CopyN(io.Discard, tc, int64(j.size))
		s.bytes.Add(n)
		if err != nil {
			return err
		}
		tc.SetLinger(0) // close() sends RST
	case kAbortServer, kUnread, kPipeline, kAbortServerUnread, kRefusedUpload, kListenerClosed:
		switch j.kind {
		case kUnread:
			err = writeN(tc, j.size)
		case kPipeline:
			_, err = fmt.Fprintf(tc, "%d\n%d\n%d\n", j.size, j.size, j.size)
		case kAbortServerUnread:
			_, err = fmt.Fprintf(tc, "%d\n", j.size)
			if err == nil {
				err = writeN(tc, 1000+j.size%2000) // the body the server will not read
			}
		case kRefusedUpload:
			if _, err = fmt.Fprintf(tc, "U %d\n", j.size); err == nil {
				err = writeN(tc, j.size)
			}
		default:
			err = request()
		}
		if !expected(err) {
			return err
		}
		n, err := io.Copy(io.Discard, tc)
		s.bytes.Add(n)
		if !expected(err) {
			return err
		}
	case kKeepAlive:
		reqs := 2 + j.size%4
		for i := 0; i < reqs; i++ {
			if err := request(); err != nil {
				return err
			}
			n, err := io.CopyN(io.Discard, tc, int64(j.size))
			s.bytes.Add(n)
			if err != nil {
				return err
			}
		}
	case kKeepAliveRace:
		// One request, then the next one sent around the server's idle
		// close (keepAliveIdle), a little before or after it. On a busy
		// machine the first request itself may lose the race.
		if err := request(); err != nil {
			return err
		}
		n, err := io.CopyN(io.Discard, tc, int64(j.size))
		s.bytes.Add(n)
		if err != nil {
			if expected(err) {
				return nil
			}
			return err
		}
		time.Sleep(keepAliveIdle - 2*time.Millisecond + time.Duration(j.size%5)*time.Millisecond)
		if err := request(); !expected(err) {
			return err
		}
		if _, err := io.Copy(io.Discard, tc); !expected(err) {
			return err
		}
	case kIdleRouter:
		// A request, an idle gap past the router's conntrack timeout
		// (mktruth.sh sets it to routerIdle − 1 s), then the next request:
		// the router has forgotten the connection and rejects it.
		if err := request(); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, tc, int64(j.size)); err != nil {
			return err
		}
		time.Sleep(routerIdle)
		if err := request(); !expected(err) {
			return err
		}
		if _, err := io.Copy(io.Discard, tc); !expected(err) {
			return err
		}
	case kPartialRead, kAbortClientUnread:
		if err := request(); err != nil {
			return err
		}
		var buf [4096]byte
		if _, err := io.ReadFull(tc, buf[:]); err != nil {
			return err
		}
		time.Sleep(5 * time.Millisecond) // let more of the response arrive, unread
		if j.kind == kAbortClientUnread {
			tc.SetLinger(0)
		}
	case kVanish, kVanishRetrans:
		if err := request(); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, tc, int64(j.size)); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond) // the last ACKs go out before the client vanishes
		if err := setMark(tc, vanishMark); err != nil {
			return fmt.Errorf("vanishing: %w", err)
		}
		time.Sleep(vanishFor)
		if err := setMark(tc, 0); err != nil {
			return fmt.Errorf("coming back: %w", err)
		}
		if j.kind == kVanishRetrans {
			if _, err := fmt.Fprintf(tc, "back\n"); !expected(err) {
				return err
			}
			if _, err := io.Copy(io.Discard, tc); !expected(err) {
				return err
			}
		}
	case kBulkGet:
		if _, err := fmt.Fprintf(tc, "G %d\n", j.size); err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, tc)
		s.bytes.Add(n)
		if err != nil {
			return err
		}
		if int(n) != j.size {
			return fmt.Errorf("got %d bytes, want %d", n, j.size)
		}
	case kBulkPut:
		if _, err := fmt.Fprintf(tc, "P %d\n", j.size); err != nil {
			return err
		}
		if err := writeN(tc, j.size); err != nil {
			return err
		}
		s.bytes.Add(int64(j.size))
		tc.CloseWrite()
		var ok [2]byte
		if _, err := io.ReadFull(tc, ok[:]); err != nil {
			return fmt.Errorf("waiting for upload ack: %w", err)
		}
	}
	return nil
}

// vanishFor is how long a vanished client stays away: longer than the
// server's keepalive (serverKeepAlive) and user timeout (serverUserTimeout)
// take to give up.
const vanishFor = 3 * time.Second

// killed runs one connection in a child process (trafficgen -mode child),
// which connects, asks for a large response, reads a little and waits; the
// parent kills it with SIGKILL, so the kernel closes the socket on exit with
// the rest of the response unread.
func (cl *client) killed(ctx context.Context, j job) error {
	start := time.Now()
	cmd := exec.CommandContext(ctx, cl.cfg.self, "-mode", "child", "-target", j.addr(cl.cfg))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("child: %w", err)
	}
	cl.log.add(strings.TrimSpace(line), j.addr(cl.cfg), j.kind, j.v6, start)
	time.Sleep(5 * time.Millisecond)
	return cmd.Process.Kill()
}

// runChild is the child of kKilled: it prints its local address once it has
// read the start of the response, then waits to be killed.
func runChild(target string) error {
	c, err := net.DialTimeout("tcp", target, 3*time.Second)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c, "%d\n", 256<<10); err != nil {
		return err
	}
	var buf [1000]byte
	if _, err := io.ReadFull(c, buf[:]); err != nil {
		return err
	}
	fmt.Println(c.LocalAddr().String())
	time.Sleep(30 * time.Second)
	return nil
}

func report(out io.Writer, cfg config, s *stats, took time.Duration) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tipv4\tipv6\ttotal\tfailed\tskipped\t")
	var tot, tot6, totFailed, totSkipped int64
	for k := kind(0); k < numKinds; k++ {
		v4, v6 := s.ok[k][0].Load()+s.failed[k][0].Load(), s.ok[k][1].Load()+s.failed[k][1].Load()
		f := s.failed[k][0].Load() + s.failed[k][1].Load()
		sk := s.skipped[k][0].Load() + s.skipped[k][1].Load()
		if v4+v6+sk == 0 && k > kBulkPut {
			continue // a kind this run did not plan
		}
		fmt.Fprintf(tw, "%v\t%d\t%d\t%d\t%d\t%d\t\n", k, v4, v6, v4+v6, f, sk)
		tot += v4 + v6
		tot6 += v6
		totFailed += f
		totSkipped += sk
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%d\t%d\t\n", tot-tot6, tot6, tot, totFailed, totSkipped)
	tw.Flush()
	share := 0.0
	if tot > 0 {
		share = 100 * float64(tot6) / float64(tot)
	}
	fmt.Fprintf(out, "connections attempted: %d (IPv6 %.1f%%) in %.1fs (%.0f/s), payload bytes moved: %d\n",
		tot, share, took.Seconds(), float64(tot)/took.Seconds(), s.bytes.Load())
	for msg, n := range s.firstErrs {
		fmt.Fprintf(out, "error x%d: %s\n", n, msg)
	}
}
