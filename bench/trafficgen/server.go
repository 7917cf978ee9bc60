package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// payload is the bytes every response and upload is cut from; its content
// does not matter, the capture keeps 128 bytes of each packet.
var payload = make([]byte, 1<<20)

// Timers of the server's behaviours.
const (
	keepAliveIdle     = 40 * time.Millisecond  // portKeepAlive closes a connection idle this long
	restartEvery      = 250 * time.Millisecond // portRestart's listener is closed and reopened this often
	serverKeepAlive   = time.Second            // portVanish: TCP_KEEPIDLE and TCP_KEEPINTVL (whole seconds), 1 probe
	serverUserTimeout = 700 * time.Millisecond // portVanishRetrans: TCP_USER_TIMEOUT
	routerIdle        = 3 * time.Second        // idle-router: the client's gap, 1 s past the router's conntrack timeout
)

// serve listens on every behaviour port on both addresses and handles
// connections until ctx ends. Each connection gets a 60 s deadline so a lost
// peer never pins a goroutine.
func serve(ctx context.Context, cfg config) error {
	handlers := map[int]func(*net.TCPConn){
		portShort:         handleShort,
		portBulk:          handleBulk,
		portAbort:         handleAbort,
		portUnread:        handleUnread,
		portHold:          handleHold,
		portKeepAlive:     handleKeepAlive,
		portUpload:        handleUpload,
		portAbortRead:     handleAbortRead,
		portPipeline:      handleShort, // reads one line, answers it, closes: the rest is unread
		portKill:          handleHold,
		portVanish:        handleVanish,
		portVanishRetrans: handleVanishRetrans,
		portAbandon:       handleHold,
		portRepeat:        handleRepeat,
	}
	addrs := []string{cfg.addr4}
	if cfg.addr6 != "" {
		addrs = append(addrs, cfg.addr6)
	}
	var lns []*net.TCPListener
	for _, a := range addrs {
		for port, h := range handlers {
			laddr := &net.TCPAddr{IP: net.ParseIP(a), Port: port}
			ln, err := net.ListenTCP("tcp", laddr)
			if err != nil {
				return fmt.Errorf("listening on %v: %w", laddr, err)
			}
			lns = append(lns, ln)
			go acceptLoop(ln, h)
		}
		go restarter(ctx, &net.TCPAddr{IP: net.ParseIP(a), Port: portRestart})
	}
	for _, a := range []string{cfg.raddr4, cfg.raddr6} {
		if a == "" {
			continue
		}
		laddr := &net.TCPAddr{IP: net.ParseIP(a), Port: portIdle}
		ln, err := net.ListenTCP("tcp", laddr)
		if err != nil {
			return fmt.Errorf("listening on %v: %w", laddr, err)
		}
		lns = append(lns, ln)
		go acceptLoop(ln, handleIdle)
	}
	fmt.Fprintf(os.Stderr, "trafficgen server: listening on %d sockets\n", len(lns))
	<-ctx.Done()
	for _, ln := range lns {
		ln.Close()
	}
	return nil
}

// restarter keeps a listener that never accepts and closes it every
// restartEvery, as a service stop or restart does: the kernel resets every
// connection still in its accept queue (inet_csk_listen_stop). It reopens at
// once; connections that arrive in between are refused.
func restarter(ctx context.Context, laddr *net.TCPAddr) {
	for ctx.Err() == nil {
		ln, err := net.ListenTCP("tcp", laddr)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(restartEvery):
		}
		ln.Close()
	}
}

func acceptLoop(ln *net.TCPListener, h func(*net.TCPConn)) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. a connection reset while queued
		}
		go func() {
			c.SetDeadline(time.Now().Add(60 * time.Second))
			h(c)
		}()
	}
}

// readLine reads one short request line ("n\n" or "G n\n") byte by byte, so no
// request data beyond the line is consumed.
func readLine(c io.Reader) (string, error) {
	var buf [32]byte
	n := 0
	for n < len(buf) {
		if _, err := io.ReadFull(c, buf[n:n+1]); err != nil {
			return "", err
		}
		if buf[n] == '\n' {
			return string(buf[:n]), nil
		}
		n++
	}
	return "", errors.New("request line too long")
}

// writeN writes n bytes of payload.
func writeN(w io.Writer, n int) error {
	for n > 0 {
		k := min(n, len(payload))
		if _, err := w.Write(payload[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func handleShort(c *net.TCPConn) {
	defer c.Close()
	line, err := readLine(c)
	if err != nil {
		return
	}
	n, _ := strconv.Atoi(line)
	writeN(c, n)
}

func handleAbort(c *net.TCPConn) {
	line, err := readLine(c)
	if err != nil {
		c.Close()
		return
	}
	n, _ := strconv.Atoi(line)
	writeN(c, n)
	c.SetLinger(0) // close() now sends RST instead of FIN
	c.Close()
}

// handleAbortRead reads the request line, lets the body behind it arrive,
// and aborts with SO_LINGER 0 while it sits unread.
func handleAbortRead(c *net.TCPConn) {
	readLine(c)
	time.Sleep(3 * time.Millisecond)
	c.SetLinger(0)
	c.Close()
}

// handleHold answers and then keeps the connection open until the client
// ends it, so the client's abort hits an ESTABLISHED socket.
func handleHold(c *net.TCPConn) {
	defer c.Close()
	line, err := readLine(c)
	if err != nil {
		return
	}
	n, _ := strconv.Atoi(line)
	if writeN(c, n) == nil {
		io.Copy(io.Discard, c)
	}
}

// handleKeepAlive answers requests until the connection sits idle for
// keepAliveIdle, then closes it, as an HTTP server's keep-alive timeout does.
func handleKeepAlive(c *net.TCPConn) {
	defer c.Close()
	for {
		c.SetReadDeadline(time.Now().Add(keepAliveIdle))
		line, err := readLine(c)
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(line)
		if writeN(c, n) != nil {
			return
		}
	}
}

// handleRepeat answers requests until the client closes.
func handleRepeat(c *net.TCPConn) {
	defer c.Close()
	for {
		line, err := readLine(c)
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(line)
		if writeN(c, n) != nil {
			return
		}
	}
}

// handleIdle answers requests until the client closes or stays silent for
// a while: behind the router, the client's reset never reaches the server,
// so it gives up on its own rather than hold the connection for a minute.
func handleIdle(c *net.TCPConn) {
	defer c.Close()
	for {
		c.SetReadDeadline(time.Now().Add(2 * routerIdle))
		line, err := readLine(c)
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(line)
		if writeN(c, n) != nil {
			return
		}
	}
}

// handleUpload refuses an upload after its request line: "413" and close,
// with the body still arriving.
func handleUpload(c *net.TCPConn) {
	defer c.Close()
	if _, err := readLine(c); err != nil {
		return
	}
	c.Write([]byte("413\n"))
}

// handleVanish answers, then waits with short keepalives: the client
// vanishes, the probes go unanswered and tcp_keepalive_timer resets.
func handleVanish(c *net.TCPConn) {
	defer c.Close()
	line, err := readLine(c)
	if err != nil {
		return
	}
	n, _ := strconv.Atoi(line)
	c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: serverKeepAlive, Interval: serverKeepAlive, Count: 1})
	if writeN(c, n) == nil {
		io.Copy(io.Discard, c)
	}
}

// handleVanishRetrans answers, waits for the client to vanish, then sends
// again with a short TCP_USER_TIMEOUT: the retransmissions go unanswered and
// the kernel gives the connection up (silently, tcp_write_timeout).
func handleVanishRetrans(c *net.TCPConn) {
	defer c.Close()
	line, err := readLine(c)
	if err != nil {
		return
	}
	n, _ := strconv.Atoi(line)
	if writeN(c, n) != nil {
		return
	}
	control(c, func(fd uintptr) error { return userTimeout(fd, serverUserTimeout) })
	time.Sleep(200 * time.Millisecond)
	if writeN(c, n) == nil {
		io.Copy(io.Discard, c)
	}
}

func handleUnread(c *net.TCPConn) {
	time.Sleep(2 * time.Millisecond) // let the client's data arrive unread
	c.Close()
}

func handleBulk(c *net.TCPConn) {
	defer c.Close()
	line, err := readLine(c)
	if err != nil || len(line) < 3 {
		return
	}
	n, _ := strconv.Atoi(line[2:])
	switch line[0] {
	case 'G':
		writeN(c, n)
	case 'P':
		if _, err := io.CopyN(io.Discard, c, int64(n)); err == nil {
			c.Write([]byte("ok"))
		}
	}
}
