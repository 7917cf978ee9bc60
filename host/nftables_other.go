//go:build !linux

package host

func listNFTRejects() ([]RejectRule, error) { return nil, ErrNotSupported }
