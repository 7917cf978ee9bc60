//go:build !unix

package flow

// mapChunk has no memory outside the Go heap to offer here.
func mapChunk[T any](int) ([]T, bool) { return nil, false }

func unmapChunk[T any]([]T) {}
