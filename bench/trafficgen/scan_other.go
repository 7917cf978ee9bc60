//go:build !linux

package main

import "net/netip"

func synProbe(src, dst netip.AddrPort) error { return errNotLinux }
