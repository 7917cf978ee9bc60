//go:build !linux

package kernel

// Cgroups maps cgroup ids to paths; cgroups exist only on Linux.
type Cgroups struct{ Root string }

// Path returns "" on this platform.
func (c *Cgroups) Path(id uint64) string { return "" }
