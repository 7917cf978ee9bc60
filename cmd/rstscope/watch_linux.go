package main

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// prepareTracefs mounts tracefs at /sys/kernel/tracing when nothing is
// there: tracepoints are attached by the ids tracefs publishes. A mount is
// a change to the host, so it returns a line saying so; failure is left for
// the attach to report.
func prepareTracefs() (note string) {
	if _, err := os.Stat("/sys/kernel/tracing/events"); err == nil {
		return ""
	}
	if unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, "") != nil {
		return ""
	}
	return "mounted tracefs at /sys/kernel/tracing (tracepoints are attached through it); it stays mounted"
}

// fileInode returns the inode of path, e.g. a network namespace file.
func fileInode(path string) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return uint32(st.Ino), nil
}

// localPortRange reads net.ipv4.ip_local_port_range, the ephemeral ports
// clients use; the kernel default when unreadable.
func localPortRange() [2]uint16 {
	r := [2]uint16{32768, 60999}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return r
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return r
	}
	lo, err1 := strconv.ParseUint(f[0], 10, 16)
	hi, err2 := strconv.ParseUint(f[1], 10, 16)
	if err1 != nil || err2 != nil {
		return r
	}
	return [2]uint16{uint16(lo), uint16(hi)}
}
