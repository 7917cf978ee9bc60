//go:build linux

package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// netns is one named network namespace (ip netns add), so that ip, nft and
// a person debugging a stuck run all see it under /run/netns.
type netns struct {
	name string
}

func (n *netns) path() string { return filepath.Join("/run/netns", n.name) }

// newNetns creates the namespace and brings its loopback up.
func newNetns(ctx context.Context, name string) (*netns, error) {
	// Not under ctx: a cancel that kills ip(8) after it made the namespace
	// would leave it behind, named nowhere for teardown (TestRunCancelled
	// found rstlab-…-r left so once, on a loaded machine).
	if err := command(context.Background(), "ip", "netns", "add", name); err != nil {
		return nil, fmt.Errorf("creating netns %s: %w", name, err)
	}
	n := &netns{name: name}
	if err := ctx.Err(); err != nil {
		n.delete()
		return nil, err
	}
	if err := n.ip(ctx, "link", "set", "lo", "up"); err != nil {
		n.delete()
		return nil, err
	}
	return n, nil
}

// delete removes the namespace; its interfaces, routes, nftables tables and
// sysctls go with it. Sockets the process still holds keep the namespace
// alive until they are closed, so callers close their sockets first.
func (n *netns) delete() error {
	return command(context.Background(), "ip", "netns", "delete", n.name)
}

// ip runs ip(8) inside the namespace.
func (n *netns) ip(ctx context.Context, args ...string) error {
	return command(ctx, "ip", append([]string{"-n", n.name}, args...)...)
}

// exec runs a command inside the namespace and returns its standard output.
func (n *netns) exec(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.name, name}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, firstLine(errb.String()))
	}
	return out.String(), nil
}

// sysctl sets a per-namespace sysctl such as net.ipv4.tcp_rfc1337. Opening
// /proc/sys/net from a thread inside the namespace reaches that namespace's
// copy, so the host's values are never touched.
func (n *netns) sysctl(key, value string) error {
	p := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	err := n.do(func() error { return os.WriteFile(p, []byte(value), 0o644) })
	if err != nil {
		return fmt.Errorf("setting %s in %s: %w", key, n.name, err)
	}
	return nil
}

// do runs f on an OS thread that has entered the namespace. Sockets f opens
// stay in the namespace for their whole life, whichever goroutine uses them
// later. If the thread cannot return to its namespace it is not unlocked,
// so the runtime retires it instead of reusing it.
func (n *netns) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening own netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(n.path())
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening netns: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering netns %s: %w", n.name, err)
			return
		}
		ferr := f()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// command runs a host command with a one-line error.
func command(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, firstLine(errb.String()))
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
