//go:build linux

package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// curl runs curl with a source port of its own (--local-port), so the
// scenario log has the 4-tuple before curl connects. The URL's host is the
// server's IPv4 address.
func (d *driver) curl(k string, port int, args ...string) error {
	lp := d.curlPorts.get()
	server := netip.AddrPortFrom(d.addr4, uint16(port))
	client := netip.AddrPortFrom(d.clientAddr(server), uint16(lp))
	argv := append([]string{"-s", "-o", "/dev/null", "--local-port", strconv.Itoa(lp)}, args...)
	for j, a := range argv {
		argv[j] = strings.ReplaceAll(a, "SERVER", server.String())
	}
	start := time.Now()
	d.log.add(k, client, server, start)
	d.count(k).conns.Add(1)
	return exec.Command("curl", argv...).Run()
}

// curlLimitRateTimeout: curl --limit-rate 500k -m 0.4 on a 16 MiB file: the
// transfer times out and curl closes with the rest unread.
func curlLimitRateTimeout(d *driver, _ int) error {
	return d.curl("curl-limit-rate-timeout", nginxDefault, "--limit-rate", "500k", "-m", "0.4", "http://SERVER/big")
}

// curl413NoExpect: an upload with Expect: turned off (so curl sends the
// body at once) to nginx with lingering_close off.
func curl413NoExpect(d *driver, _ int) error {
	return d.curl("curl-413-no-expect", nginxNoLinger, "-H", "Expect:", "--data-binary", "@"+d.uploadFile(), "http://SERVER/small")
}

// curl413Expect: the same upload as curl sends it by default (Expect:
// 100-continue, the 413 comes before the body).
func curl413Expect(d *driver, _ int) error {
	return d.curl("curl-413-expect", nginxNoLinger, "--data-binary", "@"+d.uploadFile(), "http://SERVER/small")
}

// curlKeepalive: three URLs on one connection.
func curlKeepalive(d *driver, _ int) error {
	return d.curl("curl-keepalive", nginxDefault, "http://SERVER/small", "-o", "/dev/null", "http://SERVER/small", "-o", "/dev/null", "http://SERVER/small")
}

var uploadOnce struct {
	sync.Once
	name string
}

// uploadFile is a 200 KiB file for curl to send (in the servers' directory,
// removed with it).
func (d *driver) uploadFile() string {
	uploadOnce.Do(func() {
		uploadOnce.name = filepath.Join(d.srvDir, "tmp", "upload.bin")
		os.WriteFile(uploadOnce.name, make([]byte, 200<<10), 0o644)
	})
	return uploadOnce.name
}

// publisher floods channel "ch" for the redis-cli subscriber kind.
var publisher struct {
	sync.Once
	stop chan struct{}
}

func (d *driver) startPublisher() {
	publisher.Do(func() {
		publisher.stop = make(chan struct{})
		r, err := d.redis("redis-publisher", 0, redisMain, dialOpts{})
		if err != nil {
			return
		}
		go func() {
			defer r.Close()
			// Replies are read by a second goroutine so the pipe never stalls.
			go func() {
				for {
					if _, err := readReply(r.br); err != nil {
						return
					}
				}
			}()
			msg := resp("PUBLISH", "ch", strings.Repeat("m", 1024))
			for {
				select {
				case <-publisher.stop:
					r.Write([]byte(resp("QUIT")))
					time.Sleep(100 * time.Millisecond)
					return
				default:
				}
				r.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := r.Write([]byte(msg)); err != nil {
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
	})
}

// redisCLISubscribeKilled: redis-cli SUBSCRIBE ch with its output not read
// (a stuck pipeline), SIGKILLed after 300 ms with messages unread.
func redisCLISubscribeKilled(d *driver, i int) error {
	d.startPublisher()
	return d.redisCLI("redis-cli-subscribe-killed", 300*time.Millisecond, "SUBSCRIBE", "ch")
}

// redisCLIBlpopKilled: redis-cli BLPOP on an empty list, SIGKILLed while it
// waits (a killed worker).
func redisCLIBlpopKilled(d *driver, i int) error {
	return d.redisCLI("redis-cli-blpop-killed", 200*time.Millisecond, "BLPOP", "q"+strconv.Itoa(i), "0")
}

// redisCLI runs redis-cli against the main instance, finds its connection's
// source port in /proc (redis-cli cannot bind one), logs it, and kills the
// process after d. Its standard output is a pipe nobody reads.
func (d *driver) redisCLI(k string, after time.Duration, args ...string) error {
	server := netip.AddrPortFrom(d.addr4, redisMain)
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	cmd := exec.Command("redis-cli", append([]string{"-h", d.addr4.String(), "-p", strconv.Itoa(redisMain)}, args...)...)
	cmd.Stdout = pw
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		return err
	}
	pw.Close()
	d.count(k).conns.Add(1)
	var port int
	for range 200 {
		if port = socketPort(cmd.Process.Pid, server); port != 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if port != 0 {
		d.log.add(k, netip.AddrPortFrom(d.clientAddr(server), uint16(port)), server, start)
	}
	time.Sleep(after)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if port == 0 {
		return fmt.Errorf("no connection found for redis-cli")
	}
	return nil
}

// socketPort returns the local port of pid's TCP connection to server, from
// its descriptors' socket inodes and this namespace's /proc/net/tcp; 0 if
// it has none yet.
func socketPort(pid int, server netip.AddrPort) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", server.Port())
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || !inodes[fs[9]] || !strings.HasSuffix(fs[2], want) || fs[3] != "01" {
			continue
		}
		_, hexPort, _ := strings.Cut(fs[1], ":")
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err == nil {
			return int(p)
		}
	}
	return 0
}
