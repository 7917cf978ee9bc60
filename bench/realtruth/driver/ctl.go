//go:build linux

package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// ctl runs one of the control scripts mkrealtruth.sh writes into the
// servers' directory (ctl-apache-8181 graceful, ctl-postgres-5433
// stop-fast, ctl-memcached-11214 kill, …): each acts on its server in the
// server's namespace.
func (d *driver) ctl(name string, args ...string) error {
	out, err := exec.Command(filepath.Join(d.srvDir, "ctl-"+name), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctl-%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
