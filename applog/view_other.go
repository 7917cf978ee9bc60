//go:build !linux

package applog

import "os"

// willNeed: the sampling pass's reads are read ahead by the kernel only on
// Linux (view_linux.go).
func willNeed(*os.File, int64, int64) {}
