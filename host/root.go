package host

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Root is the directory /proc and /sys are read under: "/" on a live host, a
// fixture tree such as testdata/host in tests (the node_exporter habit).
type Root string

// Path joins an absolute host path such as "/proc/net/netstat" under r.
func (r Root) Path(p string) string {
	if r == "" {
		return p
	}
	return filepath.Join(string(r), p)
}

// Live reports whether r is the real root, where kernel-only sources
// (netlink, iptables-save, ARP) describe the same host as the files.
func (r Root) Live() bool { return r == "" || filepath.Clean(string(r)) == "/" }

// ReadFile reads an absolute host path under r.
func (r Root) ReadFile(p string) ([]byte, error) { return os.ReadFile(r.Path(p)) }

// absent says a file does not exist: absent data, not a failure.
func absent(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// shortErr trims the path os errors repeat, since Unreadable carries it.
func shortErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// open opens an absolute host path under r.
func (r Root) open(p string) (*os.File, error) { return os.Open(r.Path(p)) }

// ErrNotSupported says this OS has no such kernel source (sock_diag,
// nftables, AF_PACKET); callers check it with errors.Is.
var ErrNotSupported = errors.New("not supported on this OS")
