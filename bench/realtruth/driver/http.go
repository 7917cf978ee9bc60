//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The servers' ports (mkrealtruth.sh's configurations).
const (
	nginxDefault   = 8080 // defaults, keepalive_timeout 1s, client_max_body_size 1k
	nginxNoLinger  = 8081 // lingering_close off
	nginxKeepReq1  = 8082 // keepalive_requests 1
	nginxResetTmo  = 8083 // reset_timedout_connection on; send/header/body timeouts 1s
	nginxPipeOff   = 8084 // keepalive_requests 1, lingering_close off
	haReqTimeout   = 8090 // timeout http-request 500ms
	haClientTmo    = 8091 // timeout client 500ms
	haAbortOnClose = 8092 // option abortonclose, backend never answers
	haReject       = 8093 // tcp-request connection reject
	haSilentDrop   = 8094 // http-request silent-drop
	haServerTmo    = 8095 // timeout server/connect 500ms, backend never answers
	haDenyNoLinger = 8096 // http-request deny (403), option nolinger
	haNoLinger     = 8097 // option nolinger in front of nginx
)

func get(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: realtruth\r\nUser-Agent: realdriver\r\nAccept: */*\r\n\r\n"
}

// getClose is a GET of /small that asks the server to close after it.
const getClose = "GET /small HTTP/1.1\r\nHost: realtruth\r\nUser-Agent: realdriver\r\nConnection: close\r\n\r\n"

// readResponse reads one HTTP response with net/http's own parser and
// discards its body.
func readResponse(br *bufio.Reader) (*http.Response, error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}

// nginxKeepalive is a Go net/http client: a Transport of its own (one
// connection), three requests on it, then its idle connection closed.
func nginxKeepalive(d *driver, i int) error {
	const k = "nginx-keepalive"
	srv := d.server(k, i, nginxDefault)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.dial(k, srv, dialOpts{})
		},
		MaxIdleConnsPerHost: 1,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for range 3 {
		resp, err := cl.Get("http://realtruth/small")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return nil
}

// nginxKeepaliveRace sends its second request around the moment nginx's
// keepalive_timeout (1 s) closes the idle connection: what every HTTP
// client's connection pool meets.
func nginxKeepaliveRace(d *driver, i int) error {
	const k = "nginx-keepalive-timeout-race"
	return secondRequest(d, k, i, nginxDefault, 0, time.Second+time.Duration(d.rng(k, i).IntN(80)-40)*time.Millisecond)
}

// secondRequest GETs /small, idles, and GETs it again on the same
// connection, as a connection pool does; the first response is read
// within firstLimit (none of its own when zero), the second within 2 s.
func secondRequest(d *driver, k string, i, port int, firstLimit, idle time.Duration) error {
	c, err := d.dial(k, d.server(k, i, port), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := request(c, br, "/small", firstLimit); err != nil {
		return err
	}
	time.Sleep(idle)
	_, err = request(c, br, "/small", 2*time.Second)
	return err
}

// request sends GET path on c and reads the response from br, within
// limit from now (no deadline of its own when limit is zero).
func request(c *net.TCPConn, br *bufio.Reader, path string, limit time.Duration) (*http.Response, error) {
	if _, err := io.WriteString(c, get(path)); err != nil {
		return nil, err
	}
	if limit > 0 {
		c.SetReadDeadline(time.Now().Add(limit))
	}
	return readResponse(br)
}

// nginxPipeline pipelines three requests to a server with
// keepalive_requests 1: it answers the first and closes.
func nginxPipeline(d *driver, i int) error {
	const k = "nginx-pipeline-keepalive-requests-1"
	c, err := d.dial(k, d.server(k, i, nginxKeepReq1), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, get("/small")+get("/small")+get("/small")); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for range 3 {
		if _, err := readResponse(br); err != nil {
			return err
		}
	}
	return nil
}

// nginxPipelineNoLinger pipelines 3–6 GETs in one write, each padded to
// ≈ 700 bytes, to a server with keepalive_requests 1 and lingering_close
// off. nginx reads the header into its 1 KiB client_header_buffer_size, so
// the first request and part of the second; it answers the first and closes
// with the rest still in the kernel's receive queue (the lingering close
// that nginx-pipeline-keepalive-requests-1 meets is off here). The client
// reads the one answer and waits for the server's close.
func nginxPipelineNoLinger(d *driver, i int) error {
	const k = "nginx-pipeline-lingering-off"
	n := 3 + d.rng(k, i).IntN(4)
	c, err := d.dial(k, d.server(k, i, nginxPipeOff), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	// get's request with a long header before its blank line.
	padded := strings.TrimSuffix(get("/small"), "\r\n") + "X-Pad: " + strings.Repeat("p", 600) + "\r\n\r\n"
	if _, err := io.WriteString(c, strings.Repeat(padded, n)); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := readResponse(bufio.NewReader(c)); err != nil {
		return err
	}
	return drain(c, 2*time.Second)
}

// upload POSTs a 64–256 KiB body without waiting for a 100-continue (as a
// browser's form does) to a server whose limit is 1 KiB: 413.
func upload(d *driver, k string, i, port int) error {
	c, err := d.dial(k, d.server(k, i, port), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	size := (64 + d.rng(k, i).IntN(192)) << 10
	go func() {
		fmt.Fprintf(c, "POST /small HTTP/1.1\r\nHost: realtruth\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size)
		chunk := make([]byte, 16<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := readResponse(bufio.NewReader(c))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		return fmt.Errorf("status %d, want 413", resp.StatusCode)
	}
	// A client that got its answer waits for the server's close.
	return drain(c, 2*time.Second)
}

func nginx413Linger(d *driver, i int) error { return upload(d, "nginx-413-lingering", i, nginxDefault) }
func nginx413NoLinger(d *driver, i int) error {
	return upload(d, "nginx-413-lingering-off", i, nginxNoLinger)
}

// stalledDownload asks for 16 MiB and reads none of it, with a small
// receive buffer, and waits for the server's send timeout to end it. Each
// of sent, when given, is called once the request is out (or failed).
func stalledDownload(d *driver, k string, i, port int, wait time.Duration, sent ...func()) error {
	signal := func() {
		for _, s := range sent {
			s()
		}
		sent = nil
	}
	defer signal()
	c, err := d.dial(k, d.server(k, i, port), dialOpts{rcvbuf: 8 << 10})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, get("/big")); err != nil {
		return err
	}
	signal()
	time.Sleep(wait)
	return nil
}

// nginxSendTimeout: reset_timedout_connection on, send_timeout 1s.
func nginxSendTimeout(d *driver, i int) error {
	return stalledDownload(d, "nginx-send-timeout-reset", i, nginxResetTmo, 2500*time.Millisecond)
}

// partialHeader sends a request line and one header, never the blank line,
// and waits for the server to give up on it.
func partialHeader(d *driver, k string, i, port int, wait time.Duration) error {
	c, err := d.dial(k, d.server(k, i, port), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /small HTTP/1.1\r\nHost: realtruth\r\n"); err != nil {
		return err
	}
	return drain(c, wait)
}

// nginxHeaderTimeout: reset_timedout_connection on, client_header_timeout 1s.
func nginxHeaderTimeout(d *driver, i int) error {
	return partialHeader(d, "nginx-header-timeout-reset", i, nginxResetTmo, 2500*time.Millisecond)
}

// nginxClientAbort reads 4 KiB of a 16 MiB response and closes: a browser
// navigating away, a client that saw enough.
func nginxClientAbort(d *driver, i int) error {
	const k = "nginx-client-abort-mid-response"
	c, err := d.dial(k, d.server(k, i, nginxDefault), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, get("/big")); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = io.ReadFull(c, make([]byte, 4<<10))
	return err
}

// haproxyRequestTimeout: timeout http-request 500ms; haproxy answers 408.
func haproxyRequestTimeout(d *driver, i int) error {
	return partialHeader(d, "haproxy-http-request-timeout", i, haReqTimeout, 2*time.Second)
}

// haproxyClientTimeout: timeout client 500ms and a client that stops reading.
func haproxyClientTimeout(d *driver, i int) error {
	return stalledDownload(d, "haproxy-client-timeout", i, haClientTmo, 2*time.Second)
}

// haproxyAbortOnClose: a request to a backend that never answers; the
// client gives up after 100–300 ms and closes (option abortonclose).
func haproxyAbortOnClose(d *driver, i int) error {
	const k = "haproxy-abortonclose"
	c, err := d.dial(k, d.server(k, i, haAbortOnClose), dialOpts{})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(c, get("/small")); err != nil {
		c.Close()
		return err
	}
	time.Sleep(time.Duration(100+d.rng(k, i).IntN(200)) * time.Millisecond)
	return c.Close()
}

// haproxyReject: tcp-request connection reject.
func haproxyReject(d *driver, i int) error {
	const k = "haproxy-tcp-reject"
	// The reset can beat the connect's own completion (connect() then
	// fails with ECONNRESET): the port is bound so the log has it anyway.
	c, err := d.dial(k, d.server(k, i, haReject), dialOpts{bindPort: true})
	if err != nil {
		return err
	}
	defer c.Close()
	io.WriteString(c, get("/small"))
	return drain(c, 2*time.Second)
}

// haproxyDenyNoLinger: http-request deny answers 403 and, with option
// nolinger, closes abortively after reading the whole request. Half the
// clients close as soon as they have the answer (as curl does), half
// wait for haproxy to close first.
func haproxyDenyNoLinger(d *driver, i int) error {
	const k = "haproxy-deny-nolinger"
	c, err := d.dial(k, d.server(k, i, haDenyNoLinger), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, get("/small")); err != nil {
		return err
	}
	if i%2 == 0 {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := readResponse(bufio.NewReader(c))
		return err
	}
	return drain(c, 2*time.Second)
}

// haproxyNoLinger: a GET with Connection: close through haproxy's option
// nolinger: nginx answers 200 and haproxy closes abortively once the
// response is out, the request read in full (SO_LINGER 0 after a success,
// the shape analyze cannot tell from a close with requests unread).
func haproxyNoLinger(d *driver, i int) error {
	const k = "haproxy-nolinger"
	c, err := d.dial(k, d.server(k, i, haNoLinger), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, getClose); err != nil {
		return err
	}
	return drain(c, 2*time.Second)
}

// haproxyPipelineNoLinger pipelines three GETs in one write through
// haproxy's option nolinger frontend (haproxy-nolinger's), the last with
// Connection: close: haproxy answers all three and then closes abortively
// (SO_LINGER 0) with nothing unread — the control beside the pipelined
// closes with requests unread. The client reads the three responses in
// full, then waits for haproxy's close.
func haproxyPipelineNoLinger(d *driver, i int) error {
	const k = "haproxy-pipeline-nolinger"
	c, err := d.dial(k, d.server(k, i, haNoLinger), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, get("/small")+get("/small")+getClose); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for range 3 {
		if _, err := readResponse(br); err != nil {
			return err
		}
	}
	return drain(c, 2*time.Second)
}

// haproxySilentDrop: http-request silent-drop; the client hears nothing,
// waits 300 ms for its answer and asks again.
func haproxySilentDrop(d *driver, i int) error {
	const k = "haproxy-silent-drop"
	c, err := d.dial(k, d.server(k, i, haSilentDrop), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, get("/small")); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := readResponse(br); err == nil {
		return nil
	}
	if _, err := io.WriteString(c, get("/small")); err != nil {
		return err
	}
	return drain(c, 1500*time.Millisecond)
}

// haproxyServerTimeout: the backend never answers; haproxy gives up
// (timeout connect 500ms, retries) and answers 503 itself.
func haproxyServerTimeout(d *driver, i int) error {
	const k = "haproxy-server-timeout"
	c, err := d.dial(k, d.server(k, i, haServerTmo), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, get("/small")); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := readResponse(bufio.NewReader(c)); err != nil {
		return err
	}
	return drain(c, time.Second)
}
