//go:build linux

package testutil

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// InNetNS runs f on a thread that has entered the network namespace named
// ns (/run/netns/ns) and returns its result. The thread stays locked, so
// the runtime retires it instead of reusing it in the wrong namespace;
// sockets f opens keep living in ns.
func InNetNS[T any](t testing.TB, ns string, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		var r result
		defer func() { done <- r }()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			r.err = err
			return
		}
		defer unix.Close(fd)
		if r.err = unix.Setns(fd, unix.CLONE_NEWNET); r.err != nil {
			return
		}
		r.v, r.err = f()
	}()
	r := <-done
	return r.v, r.err
}
