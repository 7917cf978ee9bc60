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

// serve listens on every behaviour port on both addresses and handles
// connections until ctx ends. Each connection gets a 60 s deadline so a lost
// peer never pins a goroutine.
func serve(ctx context.Context, cfg config) error {
	handlers := map[int]func(*net.TCPConn){
		portShort:  handleShort,
		portBulk:   handleBulk,
		portAbort:  handleAbort,
		portUnread: handleUnread,
		portHold:   handleHold,
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
	}
	fmt.Fprintf(os.Stderr, "trafficgen server: listening on %d sockets\n", len(lns))
	<-ctx.Done()
	for _, ln := range lns {
		ln.Close()
	}
	return nil
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
