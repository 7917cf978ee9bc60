//go:build linux

package lab

import "testing"

// The layout of /proc/net/netstat on Linux 6.18, cut short by hand: header
// and value lines in pairs, TcpExt before IpExt.
const netstatText = `TcpExt: SyncookiesSent SyncookiesRecv TCPChallengeACK TCPSYNChallenge
TcpExt: 0 0 3 1
IpExt: InNoRoutes TCPChallengeACK
IpExt: 0 99
`

func TestParseTCPExt(t *testing.T) {
	if v, err := parseTCPExt([]byte(netstatText), "TCPChallengeACK"); err != nil || v != 3 {
		t.Errorf("TCPChallengeACK = %d, %v; want 3 (TcpExt's, not IpExt's)", v, err)
	}
	if _, err := parseTCPExt([]byte(netstatText), "TCPNoSuchCounter"); err == nil {
		t.Error("an absent counter read as a value; want an error (absent is not zero)")
	}
	if _, err := parseTCPExt([]byte("TcpExt: TCPChallengeACK\nTcpExt: x\n"), "TCPChallengeACK"); err == nil {
		t.Error("a value that is not a number read without error")
	}
}
