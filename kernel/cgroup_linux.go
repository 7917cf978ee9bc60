package kernel

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Cgroups maps cgroup v2 ids (bpf_get_current_cgroup_id: the inode of the
// cgroup's directory) to paths, walking the cgroup tree again at most once a
// second when an id is not cached.
type Cgroups struct {
	// Root is the cgroup2 mount; "" means the first cgroup2 mount in
	// /proc/self/mounts (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid
	// hosts).
	Root    string
	paths   map[uint64]string
	scanned time.Time
}

// Path returns the cgroup path of id relative to the root ("/system.slice/x"),
// or "" when unknown.
func (c *Cgroups) Path(id uint64) string {
	if id == 0 {
		return ""
	}
	if p, ok := c.paths[id]; ok {
		return p
	}
	if time.Since(c.scanned) < time.Second {
		return ""
	}
	c.scan()
	return c.paths[id]
}

func (c *Cgroups) scan() {
	if c.Root == "" {
		c.Root = cgroup2Mount()
	}
	root := c.Root
	c.scanned = time.Now()
	paths := make(map[uint64]string)
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			rel := "/" + strings.TrimPrefix(strings.TrimPrefix(path, root), "/")
			paths[st.Ino] = rel
		}
		return nil
	})
	c.paths = paths
}

func cgroup2Mount() string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[2] == "cgroup2" {
				return f[1]
			}
		}
	}
	return "/sys/fs/cgroup"
}
