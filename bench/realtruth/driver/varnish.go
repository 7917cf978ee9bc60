//go:build linux

package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// varnishPort is varnish 7.1 (mkrealtruth.sh): timeout_idle 1 s, every
// request passed to a backend nginx of its own (limit_rate 2m) that the
// driver kills and starts again.
const varnishPort = 8280

// varnishIdleTimeout: timeout_idle 1 s; the client idles 2–3 s after a
// response, then sends its next request.
func varnishIdleTimeout(d *driver, i int) error {
	const k = "varnish-idle-timeout"
	c, err := d.dial(k, d.server(k, i, varnishPort), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, get("/small")); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := readResponse(br); err != nil {
		return err
	}
	time.Sleep(2*time.Second + time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
	if _, err := io.WriteString(c, get("/small")); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = readResponse(br)
	return err
}

// varnishBackendKilled: rounds of 10 clients download 16 MiB through
// varnish, which streams it from a backend sending 2 MB/s; the backend is
// killed (SIGKILL) 400–700 ms in, in the middle of every body, and started
// again. What varnish does with a client whose body it cannot finish is
// what this measures.
func varnishBackendKilled(d *driver, n int) error {
	const k = "varnish-backend-killed"
	const perRound = 10
	for round := 0; round*perRound < n; round++ {
		m := min(perRound, n-round*perRound)
		var wg, up sync.WaitGroup
		up.Add(m)
		for j := range m {
			i := round*perRound + j
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := d.dial(k, d.server(k, i, varnishPort), dialOpts{})
				up.Done()
				if err != nil {
					d.count(k).errs.Add(1)
					return
				}
				defer c.Close()
				if _, err := io.WriteString(c, get("/big")); err != nil {
					return
				}
				c.SetReadDeadline(time.Now().Add(4 * time.Second))
				readResponse(bufio.NewReader(c))
			}()
		}
		up.Wait()
		time.Sleep(400*time.Millisecond + time.Duration(d.rng(k+"/kill", round).IntN(300))*time.Millisecond)
		err := d.ctl("nginx-backend", "kill")
		wg.Wait()
		if err == nil {
			err = d.ctl("nginx-backend", "start")
		}
		if err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
