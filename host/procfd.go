package host

import (
	"os"
	"strconv"
	"strings"
)

// owner is a process holding a socket.
type owner struct {
	pid  int
	comm string
}

// socketOwners maps the inodes wanted to the first process holding each, by
// reading the "socket:[inode]" links under /proc/*/fd, as ss -p does. It
// stops once every inode is found. denied counts processes whose fd table
// could not be read (another user's, without CAP_SYS_PTRACE).
func socketOwners(root Root, wanted map[uint64]bool) (found map[uint64]owner, denied int, err error) {
	found = map[uint64]owner{}
	if len(wanted) == 0 {
		return found, 0, nil
	}
	procs, err := os.ReadDir(root.Path("/proc"))
	if err != nil {
		return found, 0, err
	}
	for _, p := range procs {
		pid, perr := strconv.Atoi(p.Name())
		if perr != nil {
			continue
		}
		dir := root.Path("/proc/" + p.Name() + "/fd")
		fds, ferr := os.ReadDir(dir)
		if ferr != nil {
			if !absent(ferr) { // a process that exited meanwhile is no loss
				denied++
			}
			continue
		}
		for _, fd := range fds {
			link, lerr := os.Readlink(dir + "/" + fd.Name())
			if lerr != nil {
				continue
			}
			ino, ok := socketInode(link)
			if !ok || !wanted[ino] {
				continue
			}
			if _, dup := found[ino]; dup {
				continue
			}
			comm, _ := root.ReadFile("/proc/" + p.Name() + "/comm")
			found[ino] = owner{pid: pid, comm: strings.TrimSpace(string(comm))}
		}
		if len(found) == len(wanted) {
			break
		}
	}
	return found, denied, nil
}

// socketInode parses a /proc/PID/fd link target such as "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
