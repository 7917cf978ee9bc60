//go:build linux

package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The PostgreSQL clusters (mkrealtruth.sh).
const (
	postgresMain    = 5432 // role idler: idle_session_timeout 1s; role slow: SCRAM, authentication_timeout 1s
	postgresRestart = 5433 // stopped with pg_ctl stop -m fast, started again
	postgresCrash   = 5434 // a backend killed: the postmaster ends every session and restarts
	pgbouncerIdle   = 6432 // transaction pooling, client_idle_timeout 1
	pgbouncerWait   = 6433 // a pool of one server connection, query_wait_timeout 1
)

// pgConn is a client of the PostgreSQL frontend/backend protocol 3.0,
// written from its documentation (the messages every driver sends).
type pgConn struct {
	*net.TCPConn
	br    *bufio.Reader
	pid   uint32 // the backend's, from BackendKeyData (pgbouncer's own, through it)
	value string // the last query's first value
}

func pgMessage(typ byte, body string) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)+4))
	return append(b, body...)
}

// pgStartup is the StartupMessage: protocol 3.0, user, database postgres.
func pgStartup(user string) []byte {
	body := "\x00\x03\x00\x00user\x00" + user + "\x00database\x00postgres\x00\x00"
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
}

// read reads one backend message.
func (p *pgConn) read() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(p.br, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<24 {
		return 0, nil, fmt.Errorf("bad message length %d", n)
	}
	body := make([]byte, n-4)
	_, err := io.ReadFull(p.br, body)
	return hdr[0], body, err
}

// until reads messages up to ReadyForQuery ('Z'); an ErrorResponse on the
// way is returned as the error, the first column of the first DataRow
// is kept in p.value.
func (p *pgConn) until() error {
	var perr error
	p.value = ""
	for {
		t, body, err := p.read()
		if err != nil {
			return err
		}
		switch t {
		case 'D':
			if p.value == "" && len(body) >= 6 {
				if n := int32(binary.BigEndian.Uint32(body[2:])); n > 0 && int(n) <= len(body)-6 {
					p.value = string(body[6 : 6+n])
				}
			}
		case 'E':
			perr = errors.New("postgres: " + strings.ReplaceAll(string(body), "\x00", " "))
		case 'K':
			if len(body) >= 4 {
				p.pid = binary.BigEndian.Uint32(body)
			}
		case 'R':
			if len(body) >= 4 && binary.BigEndian.Uint32(body) != 0 {
				return fmt.Errorf("postgres asks for authentication %d", binary.BigEndian.Uint32(body))
			}
		case 'Z':
			return perr
		}
	}
}

// pg connects as user and reads up to the first ReadyForQuery.
func (d *driver) pg(k string, i, port int, user string) (*pgConn, error) {
	c, err := d.dial(k, d.server(k, i, port), dialOpts{})
	if err != nil {
		return nil, err
	}
	p := &pgConn{TCPConn: c, br: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(pgStartup(user)); err != nil {
		c.Close()
		return nil, err
	}
	if err := p.until(); err != nil {
		c.Close()
		return nil, err
	}
	return p, nil
}

// query runs a simple query and reads its result up to ReadyForQuery.
func (p *pgConn) query(q string) error {
	p.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.Write(pgMessage('Q', q+"\x00")); err != nil {
		return err
	}
	return p.until()
}

// pgControl is one connection that runs pg_terminate_backend for the
// terminate kinds, as an operator or a pool's watchdog does.
var pgControl struct {
	sync.Mutex
	p *pgConn
}

func (d *driver) pgTerminate(pid uint32) error {
	pgControl.Lock()
	defer pgControl.Unlock()
	if pgControl.p == nil {
		p, err := d.pg("postgres-control", 0, postgresMain, "postgres")
		if err != nil {
			return err
		}
		pgControl.p = p
	}
	return pgControl.p.query(fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid))
}

// postgresIdleSessionTimeout: role idler has idle_session_timeout 1s; the
// client idles 2–3 s after a query, then sends its next one.
func postgresIdleSessionTimeout(d *driver, i int) error {
	return idleQuery(d, "postgres-idle-session-timeout", i, postgresMain, "idler")
}

// idleQuery connects as user, queries, idles 2–3 s and queries again.
func idleQuery(d *driver, k string, i, port int, user string) error {
	p, err := d.pg(k, i, port, user)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.query("SELECT 1"); err != nil {
		return err
	}
	time.Sleep(2*time.Second + time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
	return p.query("SELECT 1")
}

// postgresAuthTimeout: role slow must answer a SCRAM challenge; the client
// answers 1.3–2.3 s after it, past authentication_timeout (1 s).
func postgresAuthTimeout(d *driver, i int) error {
	const k = "postgres-auth-timeout"
	c, err := d.dial(k, d.server(k, i, postgresMain), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	p := &pgConn{TCPConn: c, br: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(pgStartup("slow")); err != nil {
		return err
	}
	if t, _, err := p.read(); err != nil || t != 'R' {
		return fmt.Errorf("no authentication request: %c %v", t, err)
	}
	time.Sleep(1300*time.Millisecond + time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
	first := "n,,n=,r=rOprNGfwEbeRWgbNEkqO"
	body := "SCRAM-SHA-256\x00" + string(binary.BigEndian.AppendUint32(nil, uint32(len(first)))) + first
	if _, err := c.Write(pgMessage('p', body)); err != nil {
		return err
	}
	_, _, err = p.read()
	return err
}

// postgresTerminateIdle: an idle session is ended by pg_terminate_backend;
// the client sends its next query 20–100 ms later.
func postgresTerminateIdle(d *driver, i int) error {
	const k = "postgres-terminate-idle"
	p, err := d.pg(k, i, postgresMain, "postgres")
	if err != nil {
		return err
	}
	defer p.Close()
	if err := d.pgTerminate(p.pid); err != nil {
		return err
	}
	time.Sleep(time.Duration(20+d.rng(k, i).IntN(80)) * time.Millisecond)
	return p.query("SELECT 1")
}

// postgresTerminateCopy: a session streaming COPY FROM STDIN (a bulk load;
// the table's trigger discards the rows) is ended by pg_terminate_backend
// 20–70 ms in.
func postgresTerminateCopy(d *driver, i int) error {
	const k = "postgres-terminate-copy"
	p, err := d.pg(k, i, postgresMain, "postgres")
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.Write(pgMessage('Q', "COPY sink FROM STDIN\x00")); err != nil {
		return err
	}
	if t, _, err := p.read(); err != nil || t != 'G' {
		return fmt.Errorf("no CopyInResponse: %c %v", t, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		msg := pgMessage('d', strings.Repeat(strings.Repeat("r", 1023)+"\n", 16))
		p.SetWriteDeadline(time.Now().Add(3 * time.Second))
		for {
			if _, err := p.Write(msg); err != nil {
				return
			}
		}
	}()
	time.Sleep(time.Duration(20+d.rng(k, i).IntN(50)) * time.Millisecond)
	err = d.pgTerminate(p.pid)
	<-done
	return err
}

// postgresFastShutdown: rounds of 20 idle sessions; pg_ctl stop -m fast
// ends them (FATAL, then the backends exit), and each client sends its
// next query 50–300 ms after; then the cluster is started again.
func postgresFastShutdown(d *driver, n int) error {
	const k = "postgres-fast-shutdown"
	return d.rounds(k, n, 20, round{
		client: func(i int, connected func(), acted <-chan struct{}) error {
			return idleSession(d, k, i, postgresRestart, connected, acted)
		},
		act: func(int) error {
			time.Sleep(100 * time.Millisecond)
			return d.ctl("postgres-5433", "stop-fast")
		},
		after: func(int) error { return d.ctl("postgres-5433", "start") },
	})
}

// idleSession is a session that queries, is connected, and queries again
// 50–300 ms after the round's act.
func idleSession(d *driver, k string, i, port int, connected func(), acted <-chan struct{}) error {
	p, err := d.pg(k, i, port, "postgres")
	if err != nil {
		return err
	}
	defer p.Close()
	p.query("SELECT 1")
	connected()
	<-acted
	time.Sleep(time.Duration(50+d.rng(k, i).IntN(250)) * time.Millisecond)
	p.query("SELECT 1")
	return nil
}

// postgresBackendCrash: rounds of 20 idle sessions on 5434; one more
// session's backend is killed (SIGKILL: the OOM killer), so the postmaster
// ends every other session ("terminating connection because of crash of
// another server process") and restarts; each client sends its next query
// 50–300 ms after the kill.
func postgresBackendCrash(d *driver, n int) error {
	const k, kv = "postgres-backend-crash", "postgres-backend-crash-victim"
	var victims []*pgConn // closed when the kind ends
	defer func() {
		for _, v := range victims {
			v.Close()
		}
	}()
	return d.rounds(k, n, 20, round{
		client: func(i int, connected func(), acted <-chan struct{}) error {
			return idleSession(d, k, i, postgresCrash, connected, acted)
		},
		act: func(round int) error {
			time.Sleep(100 * time.Millisecond)
			victim, err := d.pg(kv, round, postgresCrash, "postgres")
			if err != nil {
				return err
			}
			victims = append(victims, victim)
			return syscall.Kill(int(victim.pid), syscall.SIGKILL)
		},
		after: func(int) error {
			// The postmaster reinitializes (crash recovery): wait for it.
			for t0 := time.Now(); time.Since(t0) < 10*time.Second; time.Sleep(100 * time.Millisecond) {
				if d.pgReady() {
					break
				}
			}
			return nil
		},
		pause: 100 * time.Millisecond,
	})
}

// pgReady says whether a session can start at 5434 (its connections are
// logged as postgres-backend-crash-probe: a run's every connection has a
// scenario).
func (d *driver) pgReady() bool {
	p, err := d.pg("postgres-backend-crash-probe", 0, postgresCrash, "postgres")
	if err != nil {
		return false
	}
	defer p.Close()
	p.Write(pgMessage('X', ""))
	return true
}

// pgbouncerClientIdleTimeout: pgbouncer's client_idle_timeout (1 s) closes
// a session idle 2–3 s, which then sends its next query.
func pgbouncerClientIdleTimeout(d *driver, i int) error {
	return idleQuery(d, "pgbouncer-client-idle-timeout", i, pgbouncerIdle, "postgres")
}

// pgbouncerServerTerminated: the server session behind a pgbouncer client
// in a transaction (which holds it, transaction pooling) is ended by
// pg_terminate_backend; pgbouncer drops the client, which sends its next
// query 20–100 ms later.
func pgbouncerServerTerminated(d *driver, i int) error {
	const k = "pgbouncer-server-terminated"
	p, err := d.pg(k, i, pgbouncerIdle, "postgres")
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.query("BEGIN"); err != nil {
		return err
	}
	if err := p.query("SELECT pg_backend_pid()"); err != nil {
		return err
	}
	pid, err := strconv.ParseUint(p.value, 10, 32)
	if err != nil {
		return fmt.Errorf("backend pid %q: %w", p.value, err)
	}
	if err := d.pgTerminate(uint32(pid)); err != nil {
		return err
	}
	time.Sleep(time.Duration(20+d.rng(k, i).IntN(80)) * time.Millisecond)
	return p.query("SELECT 1")
}

// pgbouncerHolder holds 6433's one server connection in a transaction.
var pgbouncerHolder struct {
	sync.Once
	p *pgConn
}

// pgbouncerQueryWaitTimeout: the pool's one server connection is held; the
// client's query waits, pgbouncer gives up after query_wait_timeout (1 s)
// and closes; the client, which had sent a second query 1.2–1.7 s in (a
// pipelining driver, a retry on its own timer), is reset.
func pgbouncerQueryWaitTimeout(d *driver, i int) error {
	const k = "pgbouncer-query-wait-timeout"
	pgbouncerHolder.Do(func() {
		p, err := d.pg("pgbouncer-holder", 0, pgbouncerWait, "postgres")
		if err == nil && p.query("BEGIN") == nil {
			pgbouncerHolder.p = p
		}
	})
	p, err := d.pg(k, i, pgbouncerWait, "postgres")
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.Write(pgMessage('Q', "SELECT 1\x00")); err != nil {
		return err
	}
	time.Sleep(1200*time.Millisecond + time.Duration(d.rng(k, i).IntN(500))*time.Millisecond)
	if _, err := p.Write(pgMessage('Q', "SELECT 2\x00")); err != nil {
		return err
	}
	return p.until()
}
