//go:build !linux

package main

import (
	"errors"
	"time"
)

// The truth harness's socket marks and user timeout are Linux's; elsewhere
// the kinds that need them fail with this error (the rest still run).
var errNotLinux = errors.New("needs Linux (SO_MARK, TCP_USER_TIMEOUT)")

func reuseAndMark(fd uintptr, mark int) error { return errNotLinux }

func markSocket(fd uintptr, mark int) error { return errNotLinux }

func userTimeout(fd uintptr, d time.Duration) error { return errNotLinux }
