//go:build !linux

package main

import "errors"

func fileInode(string) (uint32, error) {
	return 0, errors.New("network namespaces exist only on Linux")
}

func prepareTracefs() string { return "" }

// localPortRange returns Linux's default ephemeral range.
func localPortRange() [2]uint16 { return [2]uint16{32768, 60999} }
