//go:build !linux

// Command truthtrace records the kernel's TCP resets for the truth harness;
// it reads Linux tracefs and does nothing elsewhere.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "truthtrace: needs Linux (tracefs)")
	os.Exit(1)
}
