//go:build !unix

package flow

// mapAttemptChunk has no memory outside the Go heap to offer here.
func mapAttemptChunk() ([]attempt, bool) { return nil, false }

func unmapAttemptChunk([]attempt) {}
