//go:build !linux

package lab

import (
	"context"
	"io"
)

// env is what a scenario runs in; scenarios exist only on Linux.
type env struct{}

// Run returns ErrUnsupported: the lab needs Linux network namespaces.
func Run(ctx context.Context, s Scenario, family int, dir string, progress io.Writer) (Result, error) {
	return Result{Scenario: s.ID(), Family: family, Dir: dir}, ErrUnsupported
}
