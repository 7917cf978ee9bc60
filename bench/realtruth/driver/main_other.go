//go:build !linux

// Command realdriver drives real server software for bench/realtruth; it
// runs on Linux only (network namespaces, /proc).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "realdriver: Linux only (network namespaces, /proc)")
	os.Exit(1)
}
