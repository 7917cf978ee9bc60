//go:build !linux

package host

func listListeners() ([]Listener, error) { return nil, ErrNotSupported }
