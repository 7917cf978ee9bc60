package host

import (
	"os"
	"sync"
	"time"
)

// NetNSNames names network namespaces by inode for a metric label: the name
// `ip netns add` gave it (a file in /run/netns), "host" for the namespace of
// pid 1, "" for any other. Names are read again at most once per Rescan when
// an inode is not known, so a flood of resets from an unnamed namespace costs
// a map lookup each, not a directory scan. Safe for concurrent use.
type NetNSNames struct {
	Root Root
	// Rescan is the least time between two scans of /run/netns; 0 means 1s.
	Rescan time.Duration

	mu    sync.Mutex
	names map[uint64]string
	host  uint64
	at    time.Time
}

// Name returns the label for the namespace with inode ino.
func (n *NetNSNames) Name(ino uint64) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.names[ino]; ok {
		return name
	}
	every := n.Rescan
	if every == 0 {
		every = time.Second
	}
	if now := time.Now(); n.names == nil || now.Sub(n.at) >= every {
		n.at = now
		n.scan()
		if name, ok := n.names[ino]; ok {
			return name
		}
	}
	if ino != 0 && ino == n.host {
		return "host"
	}
	return ""
}

// scan reads /run/netns and pid 1's namespace; a missing directory or an
// unreadable entry is absent data (no namespace was named), not an error.
func (n *NetNSNames) scan() {
	names := make(map[uint64]string)
	if ents, err := os.ReadDir(n.Root.Path("/run/netns")); err == nil {
		for _, e := range ents {
			if ino, ok := fileIno(n.Root.Path("/run/netns/" + e.Name())); ok {
				names[ino] = e.Name()
			}
		}
	}
	if ino, ok := fileIno(n.Root.Path("/proc/1/ns/net")); ok {
		n.host = ino
		if _, named := names[ino]; !named {
			names[ino] = "host"
		}
	}
	n.names = names
}
