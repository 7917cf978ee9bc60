//go:build unix

package host

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Ino)
}

// TestNetNSNames names namespaces from a fixture tree: plain files stand in
// for the nsfs files, and their inodes, read here with stat(2), stand in for
// the namespaces' inodes.
func TestNetNSNames(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"run/netns/blue", "proc/1/ns/net", "proc/42/ns/net"} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := &NetNSNames{Root: Root(root), Rescan: -1}
	for _, c := range []struct {
		name string
		ino  uint64
		want string
	}{
		{"named by ip netns add", inode(t, filepath.Join(root, "run/netns/blue")), "blue"},
		{"pid 1's", inode(t, filepath.Join(root, "proc/1/ns/net")), "host"},
		{"unnamed", inode(t, filepath.Join(root, "proc/42/ns/net")), ""},
		{"zero", 0, ""},
	} {
		if got := n.Name(c.ino); got != c.want {
			t.Errorf("%s: Name(%d) = %q, want %q", c.name, c.ino, got, c.want)
		}
	}
	// A namespace named after the first scan is found on the next miss.
	red := filepath.Join(root, "run/netns/red")
	if err := os.WriteFile(red, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := n.Name(inode(t, red)); got != "red" {
		t.Errorf("Name of a namespace named later = %q, want red", got)
	}
}
