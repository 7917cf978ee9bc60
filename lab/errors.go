//go:build linux

package lab

import "errors"

// errNoReset says a step that should have drawn a reset succeeded instead.
var errNoReset = errors.New("the connection succeeded where a reset was expected")
