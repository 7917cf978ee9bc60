package kernel

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// NetNSAddrs tells whether an address is one of a network namespace's own,
// by the namespace's inode (Event.NetNS). A reset whose source is not the
// namespace's own address was forged by it for an endpoint it forwards
// for: a router's or bridge host's reject with tcp reset.
//
// It finds the namespace among Paths, /run/netns/* (ip netns add) and
// /proc/*/ns/net, lists its addresses from a thread that joined it, and
// keeps the answer for Refresh. Joining a namespace needs CAP_SYS_ADMIN;
// without it nothing is known, and callers assume the address is local. It
// is not safe for concurrent use.
type NetNSAddrs struct {
	// Paths are namespace files to try first (watch --netns).
	Paths []string
	// Refresh is how long a namespace's addresses are trusted; 0 means 10s.
	Refresh time.Duration
	cache   map[uint32]nsAddrs
	young   map[uint32]youngNetNS
	// Elsewhere's last read of every namespace, when, and how long it
	// took; a long one runs on its own goroutine, hence the lock.
	allMu      sync.Mutex
	all        []otherNetNS
	allAt      time.Time
	allCost    time.Duration
	refreshing bool
	// lookups counts the socket tables Elsewhere read since lookupsAt.
	lookups   int
	lookupsAt time.Time
}

// youngNetNS is a namespace Prime saw appear: where, when, when last read.
type youngNetNS struct {
	path        string
	first, read time.Time
}

// primeFor is how long Prime keeps re-reading a namespace after it
// appeared. A namespace is configured in its first moments (addresses,
// forwarding) and the short-lived ones (a lab run, a job's pod) are gone
// within seconds; TestWatchDuringLab under load saw a lab router deleted
// before watch read its first event, and its forged resets judged the
// server's own for want of its addresses.
const primeFor = 10 * time.Second

// maxCachedNetNS is when NetNSAddrs starts forgetting namespaces: a node
// runs a few hundred pods at most (Kubernetes' default limit is 110).
const maxCachedNetNS = 256

type nsAddrs struct {
	at       time.Time
	addrs    []netip.Addr
	forwards [2]bool // IPv4, IPv6 forwarding on
	ok       bool
}

// Local reports whether a is one of the addresses of the namespace with
// inode netns; known is false when the namespace could not be read (then
// local is true: no accusation without evidence).
func (n *NetNSAddrs) Local(netns uint32, a netip.Addr) (local, known bool) {
	if a.IsLoopback() {
		return true, true
	}
	c := n.get(netns)
	if !c.ok {
		return true, false
	}
	a = a.Unmap()
	for _, x := range c.addrs {
		if x == a {
			return true, true
		}
	}
	return false, true
}

// Prime reads the named namespaces (/run/netns/*, Paths) that appeared
// lately, before any of their resets arrives, so that one deleted before
// its events are read is still known. A new one is read at once and then
// at doubling intervals (0.1 s, 0.2 s, … ) until primeFor has passed, to
// catch its configuration; older ones are read only when asked about. The
// cost per call is a glob and a stat per namespace.
func (n *NetNSAddrs) Prime() {
	now := time.Now()
	if n.young == nil {
		n.young = make(map[uint32]youngNetNS)
	}
	if n.cache == nil {
		n.cache = make(map[uint32]nsAddrs)
	}
	paths := append([]string{}, n.Paths...)
	if m, _ := filepath.Glob("/run/netns/*"); m != nil {
		paths = append(paths, m...)
	}
	for _, p := range paths {
		ino := inode(p)
		if ino == 0 {
			continue
		}
		y, seen := n.young[ino]
		if !seen || y.path != p {
			// New, or an inode reused under another name: a new namespace.
			if seen || len(n.young) < maxCachedNetNS {
				y = youngNetNS{path: p, first: now}
			} else {
				continue
			}
		} else if age := now.Sub(y.first); age > primeFor || now.Sub(y.read) < max(100*time.Millisecond, age/2) {
			continue
		}
		if c := readNetNS(p); c.ok {
			c.at = now
			n.cache[ino] = c
		}
		y.read = now
		n.young[ino] = y
	}
	for ino, y := range n.young {
		if now.Sub(y.first) > 2*primeFor {
			delete(n.young, ino)
		}
	}
}

// Forget drops what is known of the namespace with inode netns unless it
// was read within the last 5 ms, so the next question reads it afresh
// (inodes are reused once a namespace is gone).
func (n *NetNSAddrs) Forget(netns uint32) {
	if c, ok := n.cache[netns]; ok && time.Since(c.at) > 5*time.Millisecond {
		c.at = time.Time{}
		n.cache[netns] = c
	}
}

// Forwards reports whether the namespace routes packets of a's family
// between its interfaces (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding):
// a router, a NAT, a container host.
func (n *NetNSAddrs) Forwards(netns uint32, a netip.Addr) (forwards, known bool) {
	c := n.get(netns)
	if a.Unmap().Is4() {
		return c.forwards[0], c.ok
	}
	return c.forwards[1], c.ok
}

func (n *NetNSAddrs) get(netns uint32) nsAddrs {
	refresh := n.Refresh
	if refresh <= 0 {
		refresh = 10 * time.Second
	}
	c, hit := n.cache[netns]
	if !hit || time.Since(c.at) > refresh {
		old := c
		c = nsAddrs{at: time.Now()}
		if p := n.find(netns); p != "" {
			c = readNetNS(p)
			c.at = time.Now()
		}
		if !c.ok && old.ok {
			// Gone since (a pod, a lab run): what it was while its
			// resets left is still the best account of them.
			c = old
			c.at = time.Now()
		}
		if n.cache == nil {
			n.cache = make(map[uint32]nsAddrs)
		}
		if len(n.cache) >= maxCachedNetNS {
			// Namespaces come and go with pods: forget the ones not asked
			// about lately rather than all of them.
			for k, v := range n.cache {
				if time.Since(v.at) > refresh {
					delete(n.cache, k)
				}
			}
		}
		n.cache[netns] = c
	}
	return c
}

// Elsewhere looks for another namespace on this host that holds the
// connection from → to, its socket's own address from on a working link
// (up and running), and returns its inode: two namespaces answering for one
// address, and the segment a namespace without the connection answered was
// meant for the other, which has it. The socket is what makes it the
// connection's twin rather than an isolated network that reuses the
// address (parallel lab runs on one CI host, overlapping container
// networks): TestWatchDuringLab, run beside the lab package's own tests,
// found such namespaces holding the server's address while the half-open
// scenario ran. Loopback and link-local addresses never count. Every
// namespace's addresses are read afresh at most every elsewhereEvery (or
// ten times the last read's cost); a candidate's socket table is read for
// at most maxTwinLookups resets a second. Only resets that ask pay.
func (n *NetNSAddrs) Elsewhere(netns uint32, from, to netip.AddrPort) (other uint32, found bool) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	a := from.Addr()
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return 0, false
	}
	now := time.Now()
	n.allMu.Lock()
	if now.Sub(n.allAt) > max(elsewhereEvery, 10*n.allCost) && !n.refreshing {
		n.refreshing = true
		if n.allCost < syncReadUpTo {
			// Cheap here: read now, so a link that came up a moment ago
			// counts for this reset.
			n.allMu.Unlock()
			n.readAll()
			n.allMu.Lock()
		} else {
			// A host with many namespaces: the caller is watch's event
			// loop, which must not stall while every one is joined and
			// read; this reset is judged with the last read.
			go n.readAll()
		}
	}
	all := n.all
	n.allMu.Unlock()
	for _, o := range all {
		if o.ino == netns || !slices.Contains(o.up, a) {
			continue
		}
		if now.Sub(n.lookupsAt) > time.Second {
			n.lookups, n.lookupsAt = 0, now
		}
		if n.lookups >= maxTwinLookups {
			return 0, false
		}
		n.lookups++
		if holdsConn(o.path, from, to) {
			return o.ino, true
		}
	}
	return 0, false
}

// readAll reads every namespace's working addresses for Elsewhere.
func (n *NetNSAddrs) readAll() {
	start := time.Now()
	var all []otherNetNS
	for ino, p := range n.namespaces() {
		if up, ok := workingAddrs(p); ok {
			all = append(all, otherNetNS{ino: ino, path: p, up: up})
		}
	}
	n.allMu.Lock()
	n.all, n.allAt, n.allCost, n.refreshing = all, time.Now(), time.Since(start), false
	n.allMu.Unlock()
}

// syncReadUpTo is the longest read of every namespace Elsewhere waits for;
// longer ones (a node with a hundred pods: about 0.5 ms a namespace) run
// beside it. Measured here: 2.7 ms for the lab's and the CI host's few.
const syncReadUpTo = 10 * time.Millisecond

// elsewhereEvery is how often Elsewhere reads every namespace again: the
// duplicate host of TestWatchDuringLab brings its link up a moment before
// its reset. On a host with many namespaces a read takes longer (a thread
// joining each one), and the interval grows to ten times the last read's
// cost, so a flood of such resets costs at most a tenth of a core.
const elsewhereEvery = 100 * time.Millisecond

// maxTwinLookups bounds the socket tables Elsewhere reads a second (a
// thread joining the namespace, /proc/net/tcp and tcp6 parsed): a flood
// of resets from an address some isolated namespace reuses must not cost
// a core. Past it, the resets are judged without the twin.
const maxTwinLookups = 20

// otherNetNS is one namespace's working addresses, for Elsewhere.
type otherNetNS struct {
	ino  uint32
	path string
	up   []netip.Addr
}

// workingAddrs lists the addresses of the namespace at path that sit on an
// interface up and running, from a thread that joined it.
func workingAddrs(path string) (up []netip.Addr, ok bool) {
	ok = inNetNS(path, func() bool {
		ifs, err := net.Interfaces()
		if err != nil {
			return false
		}
		for _, ifc := range ifs {
			if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagRunning == 0 {
				continue
			}
			ifas, err := ifc.Addrs()
			if err != nil {
				return false
			}
			up = appendIPs(up, ifas)
		}
		return true
	})
	return up, ok
}

// holdsConn says whether the namespace at path has a TCP socket bound to
// local and connected to remote, in any state, from its /proc/net/tcp and
// tcp6 as a thread that joined it reads them (an IPv4 connection on a
// dual-stack socket is in tcp6 as ::ffff:a.b.c.d).
func holdsConn(path string, local, remote netip.AddrPort) bool {
	found := false
	inNetNS(path, func() bool {
		for _, f := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
			if b, err := os.ReadFile(f); err == nil && tcpTableHolds(b, local, remote) {
				found = true
				break
			}
		}
		return true
	})
	return found
}

// tcpTableHolds reads a /proc/net/tcp or tcp6 table for a socket local →
// remote: each line's second and third fields are the local and remote
// address as 32-bit hex words in host byte order and the port in hex.
func tcpTableHolds(b []byte, local, remote netip.AddrPort) bool {
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 3 || !bytes.HasSuffix(f[0], []byte(":")) {
			continue
		}
		l, ok1 := procAddrPort(f[1])
		r, ok2 := procAddrPort(f[2])
		if ok1 && ok2 && l == local && r == remote {
			return true
		}
	}
	return false
}

// procAddrPort parses "0100007F:1F90" (127.0.0.1:8080) or its 32-digit
// IPv6 form, unmapping a v4-mapped address.
func procAddrPort(b []byte) (netip.AddrPort, bool) {
	h, p, ok := bytes.Cut(b, []byte(":"))
	if !ok || (len(h) != 8 && len(h) != 32) {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(string(p), 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	var raw [16]byte
	for w := 0; w < len(h)/8; w++ {
		v, err := strconv.ParseUint(string(h[8*w:8*w+8]), 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		binary.NativeEndian.PutUint32(raw[4*w:], uint32(v))
	}
	var a netip.Addr
	if len(h) == 8 {
		a = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		a = netip.AddrFrom16(raw).Unmap()
	}
	return netip.AddrPortFrom(a, uint16(port)), true
}

// namespaces returns a file for each network namespace on the host, by
// inode: Paths, /run/netns/* and every process's.
func (n *NetNSAddrs) namespaces() map[uint32]string {
	out := map[uint32]string{}
	for _, p := range append(n.namedFiles(), procNetNSFiles()...) {
		if ino := inode(p); ino != 0 {
			if _, seen := out[ino]; !seen {
				out[ino] = p
			}
		}
	}
	return out
}

// namedFiles are the namespace files to look at first: this process's,
// Paths and /run/netns/* (ip netns add).
func (n *NetNSAddrs) namedFiles() []string {
	try := append([]string{"/proc/self/ns/net"}, n.Paths...)
	if m, _ := filepath.Glob("/run/netns/*"); m != nil {
		try = append(try, m...)
	}
	return try
}

// procNetNSFiles is every process's namespace file.
func procNetNSFiles() []string {
	var out []string
	procs, _ := os.ReadDir("/proc")
	for _, d := range procs {
		if d.Name()[0] >= '0' && d.Name()[0] <= '9' {
			out = append(out, "/proc/"+d.Name()+"/ns/net")
		}
	}
	return out
}

// find returns a file of the namespace with inode ino, or "".
func (n *NetNSAddrs) find(ino uint32) string {
	for _, p := range n.namedFiles() {
		if inode(p) == ino {
			return p
		}
	}
	for _, p := range procNetNSFiles() {
		if inode(p) == ino {
			return p
		}
	}
	return ""
}

func inode(path string) uint32 {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return uint32(st.Ino)
}

// readNetNS lists the addresses and forwarding settings of the namespace
// at path from a thread that joined it (net sysctls under /proc/sys/net are
// the opening task's namespace's).
func readNetNS(path string) nsAddrs {
	var r nsAddrs
	r.ok = inNetNS(path, func() bool {
		ifas, err := net.InterfaceAddrs()
		if err != nil {
			return false
		}
		r.addrs = appendIPs(r.addrs, ifas)
		for i, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
			b, err := os.ReadFile(f)
			r.forwards[i] = err == nil && len(b) > 0 && b[0] == '1'
		}
		return true
	})
	return r
}

// inNetNS runs fn on a thread that joined the namespace at path and
// reports what fn did, false when the namespace could not be joined. The
// thread is never unlocked, so it dies with its goroutine instead of
// running other goroutines in the wrong namespace; what fn writes is read
// after it returned.
func inNetNS(path string, fn func() bool) bool {
	done := make(chan bool, 1)
	go func() {
		runtime.LockOSThread()
		ok := false
		defer func() { done <- ok }()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		defer unix.Close(fd)
		if unix.Setns(fd, unix.CLONE_NEWNET) != nil {
			return
		}
		ok = fn()
	}()
	return <-done
}

// appendIPs appends the interface addresses' IPs, v4-mapped ones unmapped.
func appendIPs(dst []netip.Addr, ifas []net.Addr) []netip.Addr {
	for _, ifa := range ifas {
		if ipn, ok := ifa.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(ipn.IP); ok {
				dst = append(dst, a.Unmap())
			}
		}
	}
	return dst
}
