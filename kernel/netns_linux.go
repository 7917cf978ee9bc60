package kernel

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
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
	all     []otherNetNS // Elsewhere's last read of every namespace
	allAt   time.Time
	allCost time.Duration // how long that read took
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
	up       []netip.Addr // those on an interface that is up
	forwards [2]bool      // IPv4, IPv6 forwarding on
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

// Elsewhere looks for another namespace on this host that holds a on a
// working link (up and running), and returns its inode. Two namespaces with
// one address on a link that works are two hosts answering for it: the
// segment a namespace without the connection answered may have been meant
// for the other. Loopback and link-local addresses are every namespace's
// own and never count. Every namespace is read afresh (one that brought its
// link up a moment ago must count), at most once per elsewhereEvery; the
// cost, a walk of /proc and a thread joining each namespace, is paid only
// for the rare resets that ask.
func (n *NetNSAddrs) Elsewhere(netns uint32, a netip.Addr) (other uint32, found bool) {
	a = a.Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return 0, false
	}
	now := time.Now()
	if now.Sub(n.allAt) > max(elsewhereEvery, 10*n.allCost) {
		n.all = n.all[:0]
		for ino, p := range n.namespaces() {
			if c := readNetNS(p); c.ok {
				n.all = append(n.all, otherNetNS{ino: ino, up: c.up})
			}
		}
		n.allAt = time.Now()
		n.allCost = n.allAt.Sub(now)
	}
	for _, o := range n.all {
		if o.ino == netns {
			continue
		}
		for _, x := range o.up {
			if x == a {
				return o.ino, true
			}
		}
	}
	return 0, false
}

// elsewhereEvery is how often Elsewhere reads every namespace again: the
// duplicate host of TestWatchDuringLab brings its link up a moment before
// its reset. On a host with many namespaces a read takes longer (a thread
// joining each one), and the interval grows to ten times the last read's
// cost, so a flood of such resets costs at most a tenth of a core.
const elsewhereEvery = 100 * time.Millisecond

// otherNetNS is one namespace's working addresses, for Elsewhere.
type otherNetNS struct {
	ino uint32
	up  []netip.Addr
}

// namespaces returns a file for each network namespace on the host, by
// inode: Paths, /run/netns/* and every process's.
func (n *NetNSAddrs) namespaces() map[uint32]string {
	out := map[uint32]string{}
	try := append([]string{"/proc/self/ns/net"}, n.Paths...)
	if m, _ := filepath.Glob("/run/netns/*"); m != nil {
		try = append(try, m...)
	}
	procs, _ := os.ReadDir("/proc")
	for _, d := range procs {
		if d.Name()[0] >= '0' && d.Name()[0] <= '9' {
			try = append(try, "/proc/"+d.Name()+"/ns/net")
		}
	}
	for _, p := range try {
		if ino := inode(p); ino != 0 {
			if _, seen := out[ino]; !seen {
				out[ino] = p
			}
		}
	}
	return out
}

// find returns a file of the namespace with inode ino, or "".
func (n *NetNSAddrs) find(ino uint32) string {
	try := append([]string{"/proc/self/ns/net"}, n.Paths...)
	if m, _ := filepath.Glob("/run/netns/*"); m != nil {
		try = append(try, m...)
	}
	for _, p := range try {
		if inode(p) == ino {
			return p
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, d := range procs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		if p := "/proc/" + d.Name() + "/ns/net"; inode(p) == ino {
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
// the opening task's namespace's); the thread is never unlocked, so it dies
// with the goroutine instead of running other goroutines in the wrong
// namespace.
func readNetNS(path string) nsAddrs {
	done := make(chan nsAddrs, 1)
	go func() {
		runtime.LockOSThread()
		var r nsAddrs
		defer func() { done <- r }()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		defer unix.Close(fd)
		if unix.Setns(fd, unix.CLONE_NEWNET) != nil {
			return
		}
		ifs, err := net.Interfaces()
		if err != nil {
			return
		}
		for _, ifc := range ifs {
			ifas, err := ifc.Addrs()
			if err != nil {
				continue
			}
			for _, ifa := range ifas {
				if ipn, ok := ifa.(*net.IPNet); ok {
					if a, ok := netip.AddrFromSlice(ipn.IP); ok {
						r.addrs = append(r.addrs, a.Unmap())
						if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagRunning != 0 {
							r.up = append(r.up, a.Unmap())
						}
					}
				}
			}
		}
		for i, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
			b, err := os.ReadFile(f)
			r.forwards[i] = err == nil && len(b) > 0 && b[0] == '1'
		}
		r.ok = true
	}()
	return <-done
}
