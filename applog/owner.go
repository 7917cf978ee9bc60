package applog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Owner is the process that owned a socket, as watch knows it.
type Owner struct {
	PID  int
	Comm string
	// Cgroup is the process's cgroup v2 path ("/system.slice/nginx.service");
	// empty means read it from /proc/PID/cgroup.
	Cgroup string
}

// Source is where an owner's logs are: a systemd journal query or
// container log files.
type Source struct {
	// Journal holds journalctl match arguments ("-u", "nginx.service" or
	// "CONTAINER_ID_FULL=…", "_COMM=…"); empty for files.
	Journal []string
	Files   []string
	// What names the source for people: "unit nginx.service",
	// "container 3f2a…".
	What string
}

// Locator finds and reads the logs of a socket's owner.
type Locator struct {
	// Root is prepended to every host path (/proc, /var/lib/docker,
	// /var/log): tests point it at fixtures. Empty means "/".
	Root string
	// Journal runs journalctl with args and returns its standard output;
	// nil runs the real one (no cgo: journald's own export format, read
	// from a pipe).
	Journal func(ctx context.Context, args []string) (io.ReadCloser, error)
}

// ErrNoLogs says no log source was found for an owner.
var ErrNoLogs = errors.New("no log source found")

func (l *Locator) path(p string) string {
	if l.Root == "" {
		return p
	}
	return filepath.Join(l.Root, p)
}

// Find says where o's logs are: its container's log files when it runs in
// one (Docker json-file, Kubernetes /var/log/containers, Podman k8s-file),
// else the log files it has open for writing, else its systemd unit's
// journal, else the journal of its command name.
func (l *Locator) Find(o Owner) (Source, error) {
	cg := o.Cgroup
	if cg == "" && o.PID > 0 {
		if b, err := os.ReadFile(l.path(fmt.Sprintf("/proc/%d/cgroup", o.PID))); err == nil {
			cg = unifiedCgroup(string(b))
		}
	}
	if id := containerID(cg); id != "" {
		var files []string
		for _, pat := range []string{
			"/var/lib/docker/containers/" + id + "/" + id + "-json.log*",
			"/var/log/containers/*" + id + ".log",
			"/var/lib/containers/storage/overlay-containers/" + id + "/userdata/ctr.log",
		} {
			m, _ := filepath.Glob(l.path(pat))
			files = append(files, m...)
		}
		sort.Strings(files)
		if len(files) > 0 {
			return Source{Files: files, What: "container " + id[:12]}, nil
		}
		// Docker's journald log driver tags each record with the ID.
		return Source{Journal: []string{"CONTAINER_ID_FULL=" + id}, What: "container " + id[:12]}, nil
	}
	// A program that writes its own log files (nginx, haproxy with a log
	// file, most Java servers) has them open: under systemd its unit's
	// journal holds only its start and stop.
	if files := l.openLogs(o.PID); len(files) > 0 {
		what := "files of pid " + strconv.Itoa(o.PID)
		if o.Comm != "" {
			what += " (" + o.Comm + ")"
		}
		return Source{Files: files, What: what}, nil
	}
	if unit := unitOf(cg); unit != "" {
		return Source{Journal: []string{"-u", unit}, What: "unit " + unit}, nil
	}
	if o.Comm != "" {
		return Source{Journal: []string{"_COMM=" + o.Comm}, What: "command " + o.Comm}, nil
	}
	return Source{}, fmt.Errorf("pid %d: %w", o.PID, ErrNoLogs)
}

// Open reads src's lines written within around of at.
func (l *Locator) Open(ctx context.Context, src Source, at time.Time, around time.Duration, opts Options) (*Set, error) {
	if len(src.Files) > 0 {
		return Open(src.Files, opts)
	}
	if len(src.Journal) == 0 {
		return nil, ErrNoLogs
	}
	args := append([]string{"-o", "json", "--no-pager", "-q",
		"--since", "@" + strconv.FormatInt(at.Add(-around).Unix(), 10),
		"--until", "@" + strconv.FormatInt(at.Add(around).Unix()+1, 10)}, src.Journal...)
	run := l.Journal
	if run == nil {
		run = runJournalctl
	}
	out, err := run(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("journal of %s: %w", src.What, err)
	}
	defer out.Close()
	s, err := OpenReader("journal of "+src.What, out, opts)
	if err != nil {
		return nil, fmt.Errorf("journal of %s: %w", src.What, err)
	}
	return s, nil
}

// cmdOutput closes a command's pipe and waits for it.
type cmdOutput struct {
	io.ReadCloser
	cmd *exec.Cmd
}

func (c cmdOutput) Close() error {
	c.ReadCloser.Close()
	return c.cmd.Wait()
}

func runJournalctl(ctx context.Context, args []string) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmdOutput{out, cmd}, nil
}

// unifiedCgroup picks the cgroup v2 path ("0::/…") from /proc/PID/cgroup,
// or the first path of a v1 hierarchy.
func unifiedCgroup(s string) string {
	first := ""
	for _, line := range strings.Split(s, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			return parts[2]
		}
		if first == "" {
			first = parts[2]
		}
	}
	return first
}

// containerID finds a 64-hex container ID in a cgroup path:
// docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope, libpod-ID.scope
// (systemd driver) or /docker/ID, /kubepods/…/ID (cgroupfs driver).
func containerID(cg string) string {
	elems := strings.Split(cg, "/")
	for i := len(elems) - 1; i >= 0; i-- {
		e := strings.TrimSuffix(elems[i], ".scope")
		if k := strings.LastIndexByte(e, '-'); k >= 0 {
			e = e[k+1:]
		}
		if len(e) == 64 && isHexString(e) {
			return e
		}
	}
	return ""
}

// unitOf is the innermost systemd service of a cgroup path.
func unitOf(cg string) string {
	elems := strings.Split(cg, "/")
	for i := len(elems) - 1; i >= 0; i-- {
		if strings.HasSuffix(elems[i], ".service") && !strings.HasPrefix(elems[i], "user@") {
			return elems[i]
		}
	}
	return ""
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// openLogs lists the log files pid has open for writing (/proc/PID/fd and
// the access mode in /proc/PID/fdinfo): regular files named *.log or
// under /var/log, not deleted. Paths are under Root, as read.
func (l *Locator) openLogs(pid int) []string {
	if pid <= 0 {
		return nil
	}
	dir := l.path(fmt.Sprintf("/proc/%d/fd", pid))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(target, "/") || strings.HasSuffix(target, " (deleted)") {
			continue
		}
		if !strings.HasSuffix(target, ".log") && !strings.HasPrefix(target, "/var/log/") {
			continue
		}
		if !openForWriting(l.path(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))) {
			continue
		}
		p := l.path(target)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// openForWriting reads the "flags:" line of an fdinfo file (octal open
// flags): the access mode (O_WRONLY 1, O_RDWR 2) in its low bits.
func openForWriting(fdinfo string) bool {
	b, err := os.ReadFile(fdinfo)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && f&3 != 0
		}
	}
	return false
}
