//go:build unix

package host

import "golang.org/x/sys/unix"

// fileIno returns the inode of path, following links: for a namespace file
// (/run/netns/NAME, /proc/PID/ns/net) the namespace's own inode.
func fileIno(path string) (uint64, bool) {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return 0, false
	}
	return uint64(st.Ino), true
}
