//go:build linux

package main

import (
	"bufio"
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
	return secondRequest(d, k, i, varnishPort, 3*time.Second, 2*time.Second+time.Duration(d.rng(k, i).IntN(1000))*time.Millisecond)
}

// varnishBackendKilled: rounds of 10 clients download 16 MiB through
// varnish, which streams it from a backend sending 2 MB/s; the backend is
// killed (SIGKILL) 400–700 ms in, in the middle of every body, and started
// again. What varnish does with a client whose body it cannot finish is
// what this measures.
func varnishBackendKilled(d *driver, n int) error {
	const k = "varnish-backend-killed"
	return d.rounds(k, n, 10, round{
		client: func(i int, connected func(), _ <-chan struct{}) error {
			c, err := d.dial(k, d.server(k, i, varnishPort), dialOpts{})
			if err != nil {
				return err
			}
			defer c.Close()
			connected()
			request(c, bufio.NewReader(c), "/big", 4*time.Second)
			return nil
		},
		act: func(round int) error {
			time.Sleep(400*time.Millisecond + time.Duration(d.rng(k+"/kill", round).IntN(300))*time.Millisecond)
			return d.ctl("nginx-backend", "kill")
		},
		after: func(int) error { return d.ctl("nginx-backend", "start") },
	})
}
