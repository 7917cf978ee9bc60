//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The memcached instances (mkrealtruth.sh).
const (
	memcachedIdle     = 11211 // -o idle_timeout=1
	memcachedMaxConns = 11212 // -t 1 -c 20: 7 client slots (maxconns_fast)
	memcachedMain     = 11213 // plain
	memcachedRestart  = 11214 // killed (SIGKILL) and started again
	memcachedHung     = 11215 // stopped (SIGSTOP) for seconds, then killed and started again
	memcachedLoading  = 11216 // killed while clients stream noreply sets, started again
)

type memcachedConn struct {
	c  *net.TCPConn
	br *bufio.Reader
}

// memcached connects to port for kind k and asks for its version (the
// ASCII protocol's cheapest command, what client libraries ping with).
func (d *driver) memcached(k string, i, port int, o dialOpts) (*memcachedConn, error) {
	c, err := d.dial(k, d.server(k, i, port), o)
	if err != nil {
		return nil, err
	}
	m := &memcachedConn{c: c, br: bufio.NewReader(c)}
	if v, err := m.do("version"); err != nil || !strings.HasPrefix(v, "VERSION") {
		c.Close()
		return nil, fmt.Errorf("memcached: %q %v", v, err)
	}
	return m, nil
}

// do sends one command line and reads one reply line.
func (m *memcachedConn) do(cmd string) (string, error) {
	m.c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(m.c, cmd+"\r\n"); err != nil {
		return "", err
	}
	return m.br.ReadString('\n')
}

// memcachedIdleTimeout: -o idle_timeout=1; the client idles 2–3 s, then
// sends its next command, as a pooled connection does.
func memcachedIdleTimeout(d *driver, i int) error {
	const k = "memcached-idle-timeout"
	m, err := d.memcached(k, i, memcachedIdle, dialOpts{})
	if err != nil {
		return err
	}
	defer m.c.Close()
	time.Sleep(2*time.Second + time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
	_, err = m.do("get k" + strings.Repeat("x", i%8))
	return err
}

// memcachedMaxConnsReached: -c 20 (7 client slots) with the slots held; a client connects and sends
// its command at once; memcached answers "ERROR Too many open
// connections" and closes.
func memcachedMaxConnsReached(d *driver, i int) error {
	const k = "memcached-maxconns"
	memcachedHolders.Do(func() {
		// Hold the slots memcached has (its own descriptors count against
		// -c): connect until one is refused.
		for j := range 16 {
			m, err := d.memcached("memcached-maxconns-holder", j, memcachedMaxConns, dialOpts{})
			if err != nil {
				return
			}
			memcachedHolders.c = append(memcachedHolders.c, m)
		}
	})
	c, err := d.dial(k, d.server(k, i, memcachedMaxConns), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "version\r\n"); err != nil {
		return err
	}
	return drain(c, time.Second)
}

var memcachedHolders struct {
	sync.Once
	c []*memcachedConn
}

// memcachedLineTooLong sends a delete whose key runs 16–64 KiB without
// the line's end (a corrupted stream, a key built wrong): memcached gives
// up on a line past 8 KiB ("CLIENT_ERROR line too long") and closes. A get
// is not refused so (a long multi-get line is legal; a first run sent one
// and drew no reset).
func memcachedLineTooLong(d *driver, i int) error {
	const k = "memcached-line-too-long"
	c, err := d.dial(k, d.server(k, i, memcachedMain), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	go io.WriteString(c, "delete "+strings.Repeat("k", (16+d.rng(k, i).IntN(48))<<10))
	return drain(c, 2*time.Second)
}

// memcachedKilledIdle: rounds of 20 idle clients; memcached is killed
// (SIGKILL: the OOM killer, a crash) and started again; each client sends
// its next command 50–300 ms after the kill.
func memcachedKilledIdle(d *driver, n int) error {
	const k = "memcached-killed-idle"
	return d.rounds(k, n, 20, round{
		client: func(i int, connected func(), acted <-chan struct{}) error {
			mc, err := d.memcached(k, i, memcachedRestart, dialOpts{})
			if err != nil {
				return err
			}
			defer mc.c.Close()
			connected()
			<-acted
			time.Sleep(time.Duration(50+d.rng(k, i).IntN(250)) * time.Millisecond)
			mc.do("version")
			return nil
		},
		act: func(int) error {
			time.Sleep(100 * time.Millisecond)
			if err := d.ctl("memcached-11214", "kill"); err != nil {
				return err
			}
			return d.ctl("memcached-11214", "start")
		},
	})
}

// memcachedHungRestart: rounds of 20 clients that connect to a hung
// memcached (SIGSTOP: the kernel completes their handshakes into the
// accept queue) and send a command; a supervisor gives up on it after
// 1.5–2.5 s, kills it (SIGKILL) and starts it again, and the closing
// listener resets the queue (inet_csk_listen_stop). redis-restart-queued
// does the same after 300 ms; a queue held past a second is what
// cause/close.go says it did not measure.
func memcachedHungRestart(d *driver, n int) error {
	const k = "memcached-hung-restart"
	pidFile := filepath.Join(d.srvDir, "memcached", "11215.pid")
	var pid int
	return d.rounds(k, n, 20, round{
		before: func(int) error {
			var err error
			if pid, err = readPid(pidFile); err != nil {
				return err
			}
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				return fmt.Errorf("stopping memcached: %w", err)
			}
			return nil
		},
		client: func(i int, connected func(), _ <-chan struct{}) error {
			connected() // the supervisor's timer runs from the round's start
			time.Sleep(time.Duration(d.rng(k, i).IntN(200)) * time.Millisecond)
			c, err := d.dial(k, d.server(k, i, memcachedHung), dialOpts{bindPort: true})
			if err != nil {
				return err
			}
			defer c.Close()
			io.WriteString(c, "version\r\n")
			// The reply never comes: the server is stopped, then gone.
			drain(c, 5*time.Second)
			return nil
		},
		act: func(round int) error {
			time.Sleep(1500*time.Millisecond + time.Duration(d.rng(k+"/hold", round).IntN(1000))*time.Millisecond)
			return d.ctl("memcached-11215", "kill")
		},
		after: func(int) error {
			if err := waitGone(pid, 5*time.Second); err != nil {
				return err
			}
			return d.ctl("memcached-11215", "start")
		},
	})
}

// memcachedKilledLoading: rounds of 20 clients that stream "set … noreply"
// (a bulk loader: memcached answers nothing) when memcached is killed
// (SIGKILL: the OOM killer) 100–300 ms in: every connection is closed at
// once with sets unread, then it is started again.
func memcachedKilledLoading(d *driver, n int) error {
	const k = "memcached-killed-loading"
	return d.rounds(k, n, 20, round{
		client: func(i int, connected func(), _ <-chan struct{}) error {
			c, err := d.dial(k, d.server(k, i, memcachedLoading), dialOpts{})
			if err != nil {
				return err
			}
			defer c.Close()
			connected()
			set := fmt.Sprintf("set load%d 0 0 512 noreply\r\n%s\r\n", i, strings.Repeat("v", 512))
			batch := strings.Repeat(set, 16)
			c.SetWriteDeadline(time.Now().Add(3 * time.Second))
			for {
				if _, err := io.WriteString(c, batch); err != nil {
					return nil
				}
			}
		},
		act: func(round int) error {
			time.Sleep(100*time.Millisecond + time.Duration(d.rng(k+"/kill", round).IntN(200))*time.Millisecond)
			return d.ctl("memcached-11216", "kill")
		},
		after: func(int) error { return d.ctl("memcached-11216", "start") },
	})
}
