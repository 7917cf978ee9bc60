//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The apache2 instances (mpm_event; mkrealtruth.sh's configurations).
const (
	apacheMain     = 8180 // KeepAliveTimeout 1, LimitRequestBody 1k, LimitRequestLine 512, RequestReadTimeout header=1 body=1
	apacheGraceful = 8181 // reloaded with apachectl -k graceful
	apacheStop     = 8182 // stopped with apachectl -k graceful-stop (GracefulShutdownTimeout 1), started again
)

// apacheKeepaliveRace sends its second request around the moment apache's
// KeepAliveTimeout (1 s) closes the idle connection (apache shuts down its
// side and reads, lingering, for 2 s more before it closes).
func apacheKeepaliveRace(d *driver, i int) error {
	return secondRequest(d, "apache-keepalive-timeout-race", i, apacheMain, 0, time.Second+time.Duration(d.rng("apache-keepalive-timeout-race", i).IntN(80)-40)*time.Millisecond)
}

// apacheKeepaliveStale sends its second request 3–4 s after the first:
// a pool whose idle limit is longer than the server's, after apache's
// keep-alive timeout and lingering close both ended.
func apacheKeepaliveStale(d *driver, i int) error {
	return secondRequest(d, "apache-keepalive-stale", i, apacheMain, 0, 3*time.Second+time.Duration(d.rng("apache-keepalive-stale", i).IntN(1000))*time.Millisecond)
}

// apacheHeaderTimeoutLate sends half a request's headers, stalls past
// mod_reqtimeout's header limit (1 s: apache answers 408) and past the 2 s
// of lingering close after it (a first run resuming 1.2–2 s in drew no
// reset: apache read and discarded the rest), then sends the rest, as a
// client on a link that stalled does.
func apacheHeaderTimeoutLate(d *driver, i int) error {
	const k = "apache-header-timeout-late"
	c, err := d.dial(k, d.server(k, i, apacheMain), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /small HTTP/1.1\r\nHost: realtruth\r\n"); err != nil {
		return err
	}
	time.Sleep(3200*time.Millisecond + time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
	if _, err := io.WriteString(c, "User-Agent: realdriver\r\nAccept: */*\r\n\r\n"); err != nil {
		return err
	}
	return drain(c, time.Second)
}

// apacheBodyTimeoutLate sends a POST's headers and 200 bytes of its
// 1000-byte body (under LimitRequestBody 1024: a longer body is refused at
// once, 413, before any timeout), stalls past mod_reqtimeout's body limit
// (1 s) and the lingering close after the 408, then sends the rest.
func apacheBodyTimeoutLate(d *driver, i int) error {
	const k = "apache-body-timeout-late"
	c, err := d.dial(k, d.server(k, i, apacheMain), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	const size = 1000
	fmt.Fprintf(c, "POST /small HTTP/1.1\r\nHost: realtruth\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size)
	if _, err := c.Write(make([]byte, 200)); err != nil {
		return err
	}
	time.Sleep(3200*time.Millisecond + time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
	if _, err := c.Write(make([]byte, size-200)); err != nil {
		return err
	}
	return drain(c, time.Second)
}

// apache413 POSTs 64–256 KiB without Expect to LimitRequestBody 1024.
func apache413(d *driver, i int) error { return upload(d, "apache-413-body", i, apacheMain) }

// apache414 asks for a path of 2–16 KiB, past LimitRequestLine 512 (414),
// and reads the answer.
func apache414(d *driver, i int) error {
	const k = "apache-414-request-line"
	c, err := d.dial(k, d.server(k, i, apacheMain), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	path := "/" + strings.Repeat("p", (2+d.rng(k, i).IntN(14))<<10)
	resp, err := request(c, bufio.NewReader(c), path, 3*time.Second)
	if err != nil {
		return err
	}
	if resp.StatusCode != 414 {
		return fmt.Errorf("status %d, want 414", resp.StatusCode)
	}
	return drain(c, time.Second)
}

// apacheGracefulKeepalive: rounds of 25 clients that hold a keep-alive
// connection after one GET; apachectl -k graceful reloads the server,
// which closes the idle connections (lingering, 2 s); each client sends
// its next request 2.2–3.2 s after the reload, as a connection pool does
// (a first run at 50–300 ms drew no reset: apache read and discarded them).
func apacheGracefulKeepalive(d *driver, n int) error {
	const k = "apache-graceful-keepalive"
	return d.rounds(k, n, 25, round{
		client: func(i int, connected func(), acted <-chan struct{}) error {
			c, err := d.dial(k, d.server(k, i, apacheGraceful), dialOpts{})
			if err != nil {
				return err
			}
			defer c.Close()
			br := bufio.NewReader(c)
			if _, err := request(c, br, "/small", 3*time.Second); err != nil {
				return err
			}
			connected()
			<-acted
			time.Sleep(time.Duration(2200+d.rng(k, i).IntN(1000)) * time.Millisecond)
			request(c, br, "/small", 2*time.Second)
			return nil
		},
		act: func(int) error {
			time.Sleep(100 * time.Millisecond)
			return d.ctl("apache-8181", "graceful")
		},
	})
}

// apacheGracefulStop: rounds of 10 clients that each ask for 16 MiB and
// read none of it (an 8 KiB receive buffer); apachectl -k graceful-stop
// with GracefulShutdownTimeout 1 ends the stalled downloads a second
// later, and each client closes 2.5 s in with the response unread. While
// the server stops, 4 more clients try to connect
// (apache-connect-during-graceful-stop). Then it is started again.
func apacheGracefulStop(d *driver, n int) error {
	const k, kc = "apache-graceful-stop-download", "apache-connect-during-graceful-stop"
	pidFile := filepath.Join(d.srvDir, "apache-8182.pid")
	var pid int
	var connects sync.WaitGroup
	return d.rounds(k, n, 10, round{
		client: func(i int, connected func(), _ <-chan struct{}) error {
			// connected: the download asked for
			return stalledDownload(d, k, i, apacheStop, 2500*time.Millisecond, connected)
		},
		act: func(round int) error {
			time.Sleep(300 * time.Millisecond)
			var err error
			if pid, err = readPid(pidFile); err != nil {
				return err
			}
			if err := d.ctl("apache-8182", "graceful-stop"); err != nil {
				return err
			}
			for j := range 4 {
				i := round*4 + j
				connects.Add(1)
				go func() {
					defer connects.Done()
					time.Sleep(time.Duration(100+d.rng(kc, i).IntN(700)) * time.Millisecond)
					c, err := d.dial(kc, d.server(kc, i, apacheStop), dialOpts{bindPort: true})
					if err != nil {
						return
					}
					defer c.Close()
					request(c, bufio.NewReader(c), "/small", 2*time.Second)
				}()
			}
			return nil
		},
		after: func(int) error {
			connects.Wait()
			if err := waitGone(pid, 5*time.Second); err != nil {
				return err
			}
			os.Remove(pidFile)
			if err := d.ctl("apache-8182", "start"); err != nil {
				return err
			}
			for range 200 {
				if _, err := readPid(pidFile); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			return nil
		},
	})
}

// waitGone waits for process pid to exit (or be a zombie: a daemon's
// parent is whoever adopted it, which may not reap it soon).
func waitGone(pid int, limit time.Duration) error {
	for t0 := time.Now(); time.Since(t0) < limit; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
			return nil
		}
	}
	return fmt.Errorf("process %d still running after %v", pid, limit)
}
