//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The redis instances (mkrealtruth.sh): 6379 timeout 1, 6380 maxclients 1,
// 6381 for CLIENT KILL and pub/sub, 6382 the one stopped and restarted.
const (
	redisTimeout    = 6379
	redisMaxClients = 6380
	redisMain       = 6381
	redisRestart    = 6382
)

// resp encodes a command as a RESP array of bulk strings, as every redis
// client library sends it.
func resp(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// readReply reads one RESP reply (simple string, error, integer or bulk)
// and returns its first line; a bulk string's payload is discarded.
func readReply(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") {
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n >= 0 {
			if _, err := io.CopyN(io.Discard, br, int64(n)+2); err != nil {
				return "", err
			}
		}
	}
	if strings.HasPrefix(line, "-") {
		return line, errors.New(line)
	}
	return line, nil
}

type redisConn struct {
	*net.TCPConn
	br *bufio.Reader
}

func (d *driver) redis(k string, i, port int, o dialOpts) (*redisConn, error) {
	c, err := d.dial(k, d.server(k, i, port), o)
	if err != nil {
		return nil, err
	}
	return &redisConn{c, bufio.NewReader(c)}, nil
}

func (r *redisConn) do(args ...string) (string, error) {
	r.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(r, resp(args...)); err != nil {
		return "", err
	}
	return readReply(r.br)
}

// redisClean: SET, GET, QUIT — a well-behaved client.
func redisClean(d *driver, i int) error {
	r, err := d.redis("redis-clean", i, redisMain, dialOpts{})
	if err != nil {
		return err
	}
	defer r.Close()
	key := "k" + strconv.Itoa(i)
	for _, cmd := range [][]string{{"SET", key, "v"}, {"GET", key}, {"QUIT"}} {
		if _, err := r.do(cmd...); err != nil {
			return err
		}
	}
	return drain(r, time.Second)
}

// redisIdleTimeout: timeout 1; the client idles 2–3 s (redis checks idle
// clients in its cron, so the close comes 1–2 s in) and then sends a command,
// as a pooled connection does.
func redisIdleTimeout(d *driver, i int) error {
	const k = "redis-timeout-idle"
	r, err := d.redis(k, i, redisTimeout, dialOpts{})
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.do("PING"); err != nil {
		return err
	}
	time.Sleep(2*time.Second + time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
	_, err = r.do("PING")
	return err
}

// maxclientsHolder holds 6380's one client slot during the kind.
var maxclientsHolder struct {
	sync.Once
	c *redisConn
}

// redisMaxClientsReached: maxclients 1, held; each client connects, sends PING at
// once (as a client library does, AUTH or HELLO first) and gets
// "-ERR max number of clients reached".
func redisMaxClientsReached(d *driver, i int) error {
	const k = "redis-maxclients"
	maxclientsHolder.Do(func() {
		maxclientsHolder.c, _ = d.redis("redis-maxclients-holder", 0, redisMaxClients, dialOpts{})
		if maxclientsHolder.c != nil {
			maxclientsHolder.c.do("PING")
		}
	})
	r, err := d.redis(k, i, redisMaxClients, dialOpts{})
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.do("PING"); err != nil {
		return err
	}
	return drain(r, time.Second)
}

// control is one connection that sends CLIENT KILL for the kill kinds.
var control struct {
	sync.Mutex
	c *redisConn
}

func (d *driver) clientKill(id string) error {
	control.Lock()
	defer control.Unlock()
	if control.c == nil {
		c, err := d.redis("redis-control", 0, redisMain, dialOpts{})
		if err != nil {
			return err
		}
		control.c = c
	}
	_, err := control.c.do("CLIENT", "KILL", "ID", id)
	return err
}

// redisClientKillIdle: an idle client is killed by an operator's CLIENT
// KILL and then sends its next command.
func redisClientKillIdle(d *driver, i int) error {
	const k = "redis-client-kill-idle"
	r, err := d.redis(k, i, redisMain, dialOpts{})
	if err != nil {
		return err
	}
	defer r.Close()
	id, err := r.do("CLIENT", "ID")
	if err != nil {
		return err
	}
	if err := d.clientKill(strings.TrimPrefix(id, ":")); err != nil {
		return err
	}
	time.Sleep(time.Duration(20+d.rng(k, i).IntN(80)) * time.Millisecond)
	_, err = r.do("PING")
	return err
}

// redisClientKillBusy: a client streaming pipelined SETs (replies unread
// for now) is killed by CLIENT KILL.
func redisClientKillBusy(d *driver, i int) error {
	const k = "redis-client-kill-busy"
	r, err := d.redis(k, i, redisMain, dialOpts{})
	if err != nil {
		return err
	}
	defer r.Close()
	id, err := r.do("CLIENT", "ID")
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cmd := resp("SET", "busy"+strconv.Itoa(i), strings.Repeat("x", 512))
		batch := strings.Repeat(cmd, 16)
		r.SetWriteDeadline(time.Now().Add(3 * time.Second))
		for {
			if _, err := io.WriteString(r, batch); err != nil {
				return
			}
		}
	}()
	time.Sleep(time.Duration(20+d.rng(k, i).IntN(50)) * time.Millisecond)
	if err := d.clientKill(strings.TrimPrefix(id, ":")); err != nil {
		return err
	}
	<-done
	return nil
}

// redisPipelineQuit writes, in one go, a RESP pipeline of 2–4 commands,
// QUIT, and then 32–64 KiB of further SETs, as a client that pipelines past
// its own QUIT (or a proxy forwarding several clients' commands) does.
// redis reads at most 16 KiB a read (PROTO_IOBUF_LEN), stops parsing at
// QUIT (CLIENT_CLOSE_AFTER_REPLY), answers up to it and closes: the rest is
// left unread in the kernel. The client reads the answers, QUIT's +OK
// last, and waits for the server's close.
func redisPipelineQuit(d *driver, i int) error {
	const k = "redis-pipeline-quit"
	r := d.rng(k, i)
	key := "pipe" + strconv.Itoa(i)
	head := []string{resp("SET", key, "v"), resp("GET", key), resp("PING"), resp("INCR", key+"n")}[:2+r.IntN(3)]
	tail := (32 + r.IntN(33)) << 10
	rc, err := d.redis(k, i, redisMain, dialOpts{})
	if err != nil {
		return err
	}
	defer rc.Close()
	var b strings.Builder
	for _, c := range head {
		b.WriteString(c)
	}
	b.WriteString(resp("QUIT"))
	set := resp("SET", key+"after", "v")
	for b.Len() < tail {
		b.WriteString(set)
	}
	// Written from a goroutine: the unread tail can fill the window, and
	// the answers are read meanwhile.
	go func() {
		rc.SetWriteDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(rc, b.String())
	}()
	rc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for range len(head) + 1 {
		if _, err := readReply(rc.br); err != nil {
			return err
		}
	}
	return drain(rc, 2*time.Second)
}

// redisBigReplyAbort: GET of a 1 MiB value, 4 KiB read, close — a client
// that timed out or was cancelled mid-reply.
func redisBigReplyAbort(d *driver, i int) error {
	const k = "redis-big-reply-abort"
	if err := d.setBig(); err != nil {
		return err
	}
	r, err := d.redis(k, i, redisMain, dialOpts{})
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := io.WriteString(r, resp("GET", "big")); err != nil {
		return err
	}
	r.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = io.ReadFull(r.br, make([]byte, 4<<10))
	return err
}

var bigOnce struct {
	sync.Once
	err error
}

func (d *driver) setBig() error {
	bigOnce.Do(func() {
		r, err := d.redis("redis-setup", 0, redisMain, dialOpts{})
		if err != nil {
			bigOnce.err = err
			return
		}
		defer r.Close()
		if _, err := r.do("SET", "big", strings.Repeat("b", 1<<20)); err != nil {
			bigOnce.err = err
			return
		}
		_, bigOnce.err = r.do("QUIT")
	})
	return bigOnce.err
}

// redisRestartQueued stops the 6382 server (SIGSTOP: a stuck or busy
// process, a slow deploy), lets clients connect into its accept queue and
// send PING, then kills it (SIGKILL) and starts it again: the queued
// connections are reset by the closing listener. A few clients it had
// accepted before, idle, send their next command after the restart.
func redisRestartQueued(d *driver, n int) error {
	const perRound = 20
	rounds := max(1, (n+perRound-1)/perRound)
	for round := range rounds {
		if err := d.restartRound(round, min(perRound, n-round*perRound)); err != nil {
			return err
		}
	}
	return nil
}

func (d *driver) restartRound(round, queued int) error {
	const (
		kq = "redis-restart-queued"
		ki = "redis-killed-idle-client"
	)
	var idle []*redisConn
	for j := range 2 {
		r, err := d.redis(ki, round*2+j, redisRestart, dialOpts{bindPort: true})
		if err != nil {
			continue
		}
		if _, err := r.do("PING"); err == nil {
			idle = append(idle, r)
		}
	}
	pid, err := readPid(filepath.Join(d.srvDir, "redis-6382.pid"))
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("stopping redis: %w", err)
	}
	var wg sync.WaitGroup
	for j := range queued {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := d.redis(kq, round*1000+j, redisRestart, dialOpts{bindPort: true})
			if err != nil {
				d.count(kq).errs.Add(1)
				return
			}
			defer r.Close()
			// The reply never comes: the server is stopped, then gone.
			r.do("PING")
		}()
	}
	time.Sleep(300 * time.Millisecond)
	syscall.Kill(pid, syscall.SIGKILL)
	wg.Wait()
	// Wait for the process to be gone before starting the next (its port).
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Remove(filepath.Join(d.srvDir, "redis-6382.pid"))
	cmd := exec.Command("ip", "netns", "exec", d.srvNS, "redis-server", filepath.Join(d.srvDir, "redis-6382.conf"))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restarting redis: %w", err)
	}
	go cmd.Wait() // reaped when mkrealtruth.sh kills it at the end
	for range 200 {
		if _, err := readPid(filepath.Join(d.srvDir, "redis-6382.pid")); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	for _, r := range idle {
		r.do("PING")
		r.Close()
	}
	return nil
}

func readPid(name string) (int, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
