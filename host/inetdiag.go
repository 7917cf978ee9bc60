package host

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Listener is one listening TCP socket from sock_diag.
type Listener struct {
	Addr    netip.AddrPort
	Queue   uint32 // idiag_rqueue: connections waiting for accept()
	Backlog uint32 // idiag_wqueue: the listen() backlog, capped by somaxconn
	UID     uint32
	Inode   uint64
	PID     int    // 0 when the owner was not found
	Command string // the owner's comm
}

// Kernel ABI of include/uapi/linux/inet_diag.h and sock_diag.h.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	tcpListen        = 10 // TCP_LISTEN in the kernel's state enum
	inetDiagReqLen   = 56 // struct inet_diag_req_v2
	inetDiagMsgLen   = 72 // struct inet_diag_msg
	afInet           = 2
	afInet6          = 10
	ipprotoTCP       = 6
)

// inetDiagRequest builds the inet_diag_req_v2 that dumps TCP listeners of
// one family; no extensions are asked for, since the queue lengths sit in
// the fixed header.
func inetDiagRequest(family uint8) []byte {
	b := make([]byte, inetDiagReqLen)
	b[0] = family
	b[1] = ipprotoTCP
	binary.NativeEndian.PutUint32(b[4:], 1<<tcpListen)
	return b
}

var errShortDiag = errors.New("inet_diag_msg too short")

// parseInetDiagMsg decodes the payload of one SOCK_DIAG_BY_FAMILY reply.
// Ports and addresses are big-endian; the counters are host-endian.
func parseInetDiagMsg(b []byte) (Listener, error) {
	if len(b) < inetDiagMsgLen {
		return Listener{}, errShortDiag
	}
	var l Listener
	port := binary.BigEndian.Uint16(b[4:6])
	src := b[8:24] // idiag_src[4]
	switch b[0] {
	case afInet:
		l.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(src[:4])), port)
	case afInet6:
		l.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(src)), port)
	default:
		return Listener{}, errors.New("inet_diag_msg of an unknown family")
	}
	// After idiag_family..retrans (4) and inet_diag_sockid (48): expires,
	// rqueue, wqueue, uid, inode.
	l.Queue = binary.NativeEndian.Uint32(b[56:60])
	l.Backlog = binary.NativeEndian.Uint32(b[60:64])
	l.UID = binary.NativeEndian.Uint32(b[64:68])
	l.Inode = uint64(binary.NativeEndian.Uint32(b[68:72]))
	return l, nil
}
