package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// scenarioLog writes the scenario TSV: one line per connection, written when
// the connection starts, with the columns
//
//	client  server  kind  family  start
//
// client and server are ip:port (IPv6 in brackets), family is 4 or 6 and
// start is Unix time in seconds with nanoseconds, taken just before the
// connect. The client's port is the real one (from getsockname, or bound
// explicitly for kinds whose connect may fail), so a scorer can key each
// reset in a capture to its scenario by 4-tuple and time even when the
// kernel reuses a port.
type scenarioLog struct {
	mu sync.Mutex
	w  *bufio.Writer
	f  *os.File
}

const scenarioHeader = "client\tserver\tkind\tfamily\tstart"

func openScenarioLog(name string) (*scenarioLog, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("scenario log: %w", err)
	}
	l := &scenarioLog{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	fmt.Fprintln(l.w, scenarioHeader)
	return l, nil
}

func (l *scenarioLog) add(client, server string, k kind, v6 bool, start time.Time) {
	if l == nil || client == "" {
		return
	}
	fam := 4
	if v6 {
		fam = 6
	}
	l.mu.Lock()
	fmt.Fprintf(l.w, "%s\t%s\t%s\t%d\t%d.%09d\n", client, server, k, fam, start.Unix(), start.Nanosecond())
	l.mu.Unlock()
}

func (l *scenarioLog) close() error {
	if l == nil {
		return nil
	}
	if err := l.w.Flush(); err != nil {
		l.f.Close()
		return fmt.Errorf("scenario log: %w", err)
	}
	return l.f.Close()
}

// portPool hands out source ports from a range outside the kernel's
// ephemeral range, for connections whose local port must be known before
// the connect (a refused connect leaves none to ask for). The sockets it
// serves end closed, never in TIME-WAIT, so a port is free again at once;
// SO_REUSEADDR covers the rare wrap onto a lingering one.
type portPool struct {
	lo, n int
	next  atomic.Int64
}

func newPortPool(spec string) (*portPool, error) {
	a, b, ok := strings.Cut(spec, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || hi < lo {
		return nil, fmt.Errorf("-src-ports %q: want LOW-HIGH within 1-65535", spec)
	}
	return &portPool{lo: lo, n: hi - lo + 1}, nil
}

func (p *portPool) take() int { return p.lo + int((p.next.Add(1)-1)%int64(p.n)) }

// boundDialer returns a dialer bound to a port of the pool, setting
// SO_REUSEADDR and, when mark is not zero, SO_MARK (the truth harness's
// drop rules match the socket's mark) before the SYN.
func boundDialer(ip string, port, mark int) *net.Dialer {
	return &net.Dialer{
		Timeout:   3 * time.Second,
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip), Port: port},
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = reuseAndMark(fd, mark) })
			if err != nil {
				return err
			}
			return serr
		},
	}
}

// setMark sets SO_MARK on a connected socket: from then on its packets
// match the harness's drop rules ("the client vanished"), and 0 lifts them.
func setMark(c *net.TCPConn, mark int) error {
	return control(c, func(fd uintptr) error { return markSocket(fd, mark) })
}

// control runs f on c's file descriptor.
func control(c *net.TCPConn, f func(fd uintptr) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(fd) }); err != nil {
		return err
	}
	return ferr
}
