//go:build !unix

package host

// fileIno is not known here: network namespaces exist only on Linux.
func fileIno(string) (uint64, bool) { return 0, false }
