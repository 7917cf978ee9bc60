//go:build !linux

package host

import "time"

func probeDuplicates(wait time.Duration) ([]Duplicate, error) { return nil, ErrNotSupported }
