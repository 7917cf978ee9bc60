package kernel

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rstscope/rstscope/internal/testutil"
)

// strayACK writes an ACK from src to dst with a raw socket, checksums
// computed here (RFC 791, RFC 9293 §3.1 pseudo-header).
func strayACK(t *testing.T, src, dst netip.AddrPort) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	p := make([]byte, 40)
	p[0], p[8], p[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(p[2:], 40)
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:], s4[:])
	copy(p[16:], d4[:])
	binary.BigEndian.PutUint16(p[10:], checksum(p[:20], 0))
	tcp := p[20:]
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	binary.BigEndian.PutUint32(tcp[8:], 2000)
	tcp[12], tcp[13] = 0x50, 0x10 // 20-byte header, ACK
	binary.BigEndian.PutUint16(tcp[14:], 512)
	pseudo := uint32(binary.BigEndian.Uint16(s4[:2])) + uint32(binary.BigEndian.Uint16(s4[2:])) +
		uint32(binary.BigEndian.Uint16(d4[:2])) + uint32(binary.BigEndian.Uint16(d4[2:])) + 6 + 20
	binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
	if err := unix.Sendto(fd, p, 0, &unix.SockaddrInet4{Addr: d4}); err != nil {
		t.Fatal(err)
	}
}

func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// TestCleanCloseRemembered: a server that closes second, cleanly, and then
// answers a stray ACK on that four-tuple with NO_SOCKET has its reset
// marked as coming soon after its own clean close (the peer is in
// TIME-WAIT: an RFC 1337 assassination); a stray ACK on a tuple it never
// had is not marked.
func TestCleanCloseRemembered(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newTestNS(t)
	w := openWatcher(t, ns)
	for _, n := range w.Notes() {
		t.Log(n)
	}
	names, err := LoadNames()
	if err != nil {
		t.Fatal(err)
	}
	var client, server netip.AddrPort
	ns.Do(t, func() {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // no listener left to answer the stray ACK (TCP_FLAGS)
		client, server = c.LocalAddr().(*net.TCPAddr).AddrPort(), s.LocalAddr().(*net.TCPAddr).AddrPort()
		c.Close() // the client closes first: it will hold TIME-WAIT
		s.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("waiting for the client's FIN: %v", err)
		}
		s.Close()                          // LAST_ACK, then CLOSE once the client's ACK arrives
		time.Sleep(100 * time.Millisecond) // that ACK, on loopback
		strayACK(t, client, server)
		never := netip.AddrPortFrom(client.Addr(), client.Port()^0x4000)
		strayACK(t, never, server)
	})
	deadline := time.AfterFunc(3*time.Second, func() { w.Close() })
	defer deadline.Stop()
	got := map[netip.AddrPort]Event{}
	for len(got) < 2 {
		var e Event
		if err := w.Read(&e); errors.Is(err, os.ErrClosed) {
			t.Fatalf("timed out with %d of 2 resets", len(got))
		} else if err != nil {
			t.Fatal(err)
		}
		if e.Kind == Sent && e.From == server && names.Reason(e.Reason) == "NO_SOCKET" {
			got[e.To] = e
		}
	}
	if e := got[client]; !e.ClosedClean || e.ClosedAgo < 50*time.Millisecond || e.ClosedAgo > 2*time.Second {
		t.Errorf("reset to %v after the server's clean close: clean %v, %v ago; want clean, about 100 ms ago", client, e.ClosedClean, e.ClosedAgo)
	}
	for to, e := range got {
		if to != client && e.ClosedClean {
			t.Errorf("reset to %v, a tuple the server never had: marked as after a clean close %v ago", to, e.ClosedAgo)
		}
	}
}
