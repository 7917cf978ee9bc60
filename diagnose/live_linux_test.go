//go:build linux

package diagnose

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// TestWatchInterfaceLoopback captures on lo while a connection to a closed
// loopback port is refused, and wants that reset explained as analyze would.
func TestWatchInterfaceLoopback(t *testing.T) {
	testutil.RequireRoot(t)
	// A port nothing listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	server := "127.0.0.1:" + strconv.Itoa(port)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []report.Finding
	done := make(chan error, 1)
	go func() {
		done <- WatchInterface(ctx, "lo", func(f report.Finding) {
			mu.Lock()
			got = append(got, f)
			mu.Unlock()
		}, nil)
	}()
	time.Sleep(300 * time.Millisecond) // the socket is open well before this
	if c, err := net.DialTimeout("tcp", server, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s accepted a connection; it should be closed", server)
	}
	deadline := time.Now().Add(5 * time.Second)
	var f *report.Finding
	for f == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		for i := range got {
			if got[i].Server == server {
				f = &got[i]
			}
		}
		mu.Unlock()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("WatchInterface: %v", err)
	}
	if f == nil {
		t.Fatalf("no finding for the refused connection to %s", server)
	}
	if f.Cause != cause.ClosedPort || f.Sender != cause.Server {
		t.Errorf("got %s by %s, want closed-port by server", f.Cause, f.Sender)
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, x := range got {
		if x.Server == server {
			n++
		}
	}
	if n != 1 {
		t.Errorf("got %d findings for the one reset (loopback frames counted twice?)", n)
	}
}
