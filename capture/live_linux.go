//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"

	"github.com/rstscope/rstscope/packet"
)

// ErrLiveUnsupported is returned by StartLive where AF_PACKET does not
// exist; on Linux it is never returned.
var ErrLiveUnsupported = errors.New("live capture is not supported on this OS (needs Linux AF_PACKET)")

// LiveSnapLen is the snapshot length of live captures: whole frames, since the
// lab's segments are small and a reset's evidence sits in every header.
const LiveSnapLen = 65535

// Live is a running capture of one interface. Its frames are handed on in
// the order the kernel queued them on the AF_PACKET socket, which is not
// always timestamp order (see DESIGN.md, Data flow).
type Live struct {
	fd      int
	handle  FrameFunc
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	packets int
	drops   uint64
	// loopback is set for a loopback interface, whose frames AF_PACKET
	// delivers twice.
	loopback bool
	err      error
}

// StartLive captures every frame, both directions, on interface ifname
// inside the network namespace whose file is netnsPath (for example
// /run/netns/NAME; "" means the caller's namespace) and writes them as pcap
// (Ethernet, µs timestamps) to w. The socket is opened inside that namespace
// and keeps capturing there whatever thread reads it. Stop ends the capture.
func StartLive(netnsPath, ifname string, w io.Writer) (*Live, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(LiveSnapLen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("writing pcap header: %w", err)
	}
	return StartLiveFunc(netnsPath, ifname, func(data []byte, info Info) error {
		ci := gopacket.CaptureInfo{Timestamp: info.Time, CaptureLength: info.CaptureLen, Length: info.WireLen}
		if err := pw.WritePacket(ci, data); err != nil {
			return fmt.Errorf("writing pcap record: %w", err)
		}
		return nil
	})
}

// FrameFunc receives each captured frame; data is valid only during the
// call. An error stops the capture and is returned by Stop.
type FrameFunc func(data []byte, info Info) error

// StartLiveFunc captures like StartLive but hands each frame (Ethernet link
// type, numbered from 1) to handle, from one goroutine.
func StartLiveFunc(netnsPath, ifname string, handle FrameFunc) (*Live, error) {
	fd, err := openPacketSocket(netnsPath, ifname)
	if err != nil {
		return nil, err
	}
	l := &Live{fd: fd, handle: handle, stop: make(chan struct{}), done: make(chan struct{})}
	if ifi, err := net.InterfaceByName(ifname); err == nil && ifi.Flags&net.FlagLoopback != 0 && netnsPath == "" {
		l.loopback = true
	}
	go l.loop()
	return l, nil
}

// Drops returns how many frames the kernel dropped because the socket's
// queue was full, since the capture started.
func (l *Live) Drops() (uint64, error) {
	st, err := unix.GetsockoptTpacketStats(l.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, fmt.Errorf("reading packet socket statistics: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drops += uint64(st.Drops) // the kernel resets its counters on each read
	return l.drops, nil
}

// openPacketSocket opens an AF_PACKET socket bound to ifname in a netns.
// Setns applies to one thread, so the goroutine is locked to its thread and
// returns to the original namespace; if it cannot, the thread is left
// locked and dies with the goroutine rather than serving others in the
// wrong namespace.
func openPacketSocket(netnsPath, ifname string) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		restored := true
		defer func() {
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		if netnsPath != "" {
			orig, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				ch <- result{-1, fmt.Errorf("opening own netns: %w", err)}
				return
			}
			defer orig.Close()
			target, err := os.Open(netnsPath)
			if err != nil {
				ch <- result{-1, fmt.Errorf("opening netns: %w", err)}
				return
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{-1, fmt.Errorf("entering netns %s: %w", netnsPath, err)}
				return
			}
			defer func() {
				if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) != nil {
					restored = false
				}
			}()
		}
		fd, err := packetSocket(ifname)
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

func packetSocket(ifname string) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return -1, fmt.Errorf("finding interface: %w", err)
	}
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return -1, fmt.Errorf("opening packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("binding packet socket to %s: %w", ifname, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("enabling timestamps: %w", err)
	}
	// A short receive timeout lets the reader notice Stop; 20 ms bounds how
	// long Stop waits once the socket queue is drained.
	tv := unix.NsecToTimeval((20 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("setting receive timeout: %w", err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// loop reads frames until Stop is called and the socket queue is empty.
func (l *Live) loop() {
	defer close(l.done)
	buf := make([]byte, LiveSnapLen)
	oob := make([]byte, 128)
	stopping := false
	for {
		if !stopping {
			select {
			case <-l.stop:
				stopping = true
			default:
			}
		}
		n, oobn, _, from, err := unix.Recvmsg(l.fd, buf, oob, unix.MSG_TRUNC)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				if stopping {
					return
				}
				continue
			}
			l.fail(fmt.Errorf("reading packet socket: %w", err))
			return
		}
		// On loopback every frame is seen twice, leaving and arriving;
		// keep the arrival.
		if sa, ok := from.(*unix.SockaddrLinklayer); ok && l.loopback && sa.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		capLen := n
		if capLen > len(buf) {
			capLen = len(buf)
		}
		l.mu.Lock()
		l.packets++
		frame := uint64(l.packets)
		l.mu.Unlock()
		info := Info{Time: stamp(oob[:oobn]), Frame: frame, CaptureLen: capLen, WireLen: n, Link: packet.LinkEthernet}
		if err := l.handle(buf[:capLen], info); err != nil {
			l.fail(err)
			return
		}
	}
}

func (l *Live) fail(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

// stamp returns the kernel's receive time from an SCM_TIMESTAMPNS message,
// or now when there is none.
func stamp(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				return time.Unix(ts.Unix())
			}
		}
	}
	return time.Now()
}

// Stop drains the frames already queued, closes the socket and returns how
// many frames were written. It is safe to call once.
func (l *Live) Stop() (int, error) {
	close(l.stop)
	<-l.done
	unix.Close(l.fd)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.packets, l.err
}
