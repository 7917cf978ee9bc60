package applog

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const cid = "3f2a9c0d1e4b5a6978877665544332211000ffeeddccbbaa9988776655443322"

func TestLocatorFind(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "proc/4242/cgroup"), []byte("0::/system.slice/nginx.service\n"))
	write(t, filepath.Join(root, "proc/4343/cgroup"), []byte("12:pids:/docker/"+cid+"\n0::/system.slice/docker-"+cid+".scope\n"))
	write(t, filepath.Join(root, "var/lib/docker/containers", cid, cid+"-json.log"), []byte(`{"log":"x\n","stream":"stdout","time":"2026-11-30T05:00:01Z"}`+"\n"))
	write(t, filepath.Join(root, "var/lib/docker/containers", cid, cid+"-json.log.1"), []byte("\n"))
	// nginx under systemd writes its own files: fd 5 and 6 open for
	// writing (O_WRONLY|O_APPEND|O_CLOEXEC), fd 3 a log it only reads, fd
	// 4 a socket, fd 7 a deleted file.
	write(t, filepath.Join(root, "proc/4444/cgroup"), []byte("0::/system.slice/nginx.service\n"))
	write(t, filepath.Join(root, "var/log/nginx/access.log"), []byte("x\n"))
	write(t, filepath.Join(root, "var/log/nginx/error.log"), []byte("x\n"))
	write(t, filepath.Join(root, "srv/other.log"), []byte("x\n"))
	for fd, target := range map[string]string{"3": "/srv/other.log", "4": "socket:[12345]", "5": "/var/log/nginx/error.log", "6": "/var/log/nginx/access.log", "7": "/var/log/nginx/old.log (deleted)"} {
		fdDir := filepath.Join(root, "proc/4444/fd")
		os.MkdirAll(fdDir, 0o755)
		if err := os.Symlink(target, filepath.Join(fdDir, fd)); err != nil {
			t.Fatal(err)
		}
		flags := "02102001"
		if fd == "3" {
			flags = "02100000"
		}
		write(t, filepath.Join(root, "proc/4444/fdinfo", fd), []byte("pos:\t0\nflags:\t"+flags+"\nmnt_id:\t21\n"))
	}
	l := &Locator{Root: root}
	tests := []struct {
		name    string
		o       Owner
		journal []string
		files   []string
		what    string
	}{
		{"unit from /proc", Owner{PID: 4242, Comm: "nginx"}, []string{"-u", "nginx.service"}, nil, "unit nginx.service"},
		{"files it writes, before its unit's journal", Owner{PID: 4444, Comm: "nginx"}, nil, []string{"var/log/nginx/access.log", "var/log/nginx/error.log"}, "files of pid 4444 (nginx)"},
		{"docker container from /proc", Owner{PID: 4343}, nil, []string{
			"var/lib/docker/containers/" + cid + "/" + cid + "-json.log",
			"var/lib/docker/containers/" + cid + "/" + cid + "-json.log.1"}, "container 3f2a9c0d1e4b"},
		{"kubernetes container without a log file: the journal by ID", Owner{Cgroup: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-" + strings.Repeat("ab", 32) + ".scope"},
			[]string{"CONTAINER_ID_FULL=" + strings.Repeat("ab", 32)}, nil, "container abababababab"},
		{"user service", Owner{Cgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/api.service"}, []string{"-u", "api.service"}, nil, "unit api.service"},
		{"no unit: by command", Owner{PID: 99, Comm: "redis-server", Cgroup: "/user.slice/user-1000.slice/session-3.scope"}, []string{"_COMM=redis-server"}, nil, "command redis-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := l.Find(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, f := range src.Files {
				rel, _ := filepath.Rel(root, f)
				files = append(files, rel)
			}
			if !slices.Equal(src.Journal, tt.journal) || !slices.Equal(files, tt.files) || src.What != tt.what {
				t.Errorf("got %q %q %q, want %q %q %q", src.Journal, files, src.What, tt.journal, tt.files, tt.what)
			}
		})
	}
	if _, err := l.Find(Owner{PID: 1}); !errors.Is(err, ErrNoLogs) {
		t.Errorf("unknown owner: got %v, want ErrNoLogs", err)
	}
}

func TestLocatorOpenJournal(t *testing.T) {
	var gotArgs []string
	l := &Locator{Journal: func(_ context.Context, args []string) (io.ReadCloser, error) {
		gotArgs = args
		// journalctl -o json output, as systemd 252 writes it (fields trimmed).
		return io.NopCloser(strings.NewReader(
			`{"__REALTIME_TIMESTAMP":"1796014801250000","_SYSTEMD_UNIT":"nginx.service","_PID":"4242","MESSAGE":"2026/11/30 05:00:01 [error] 9#9: *1 recv() failed (104: Connection reset by peer)"}` + "\n" +
				`{"__REALTIME_TIMESTAMP":"1796014809000000","_SYSTEMD_UNIT":"nginx.service","MESSAGE":"later"}` + "\n")), nil
	}}
	at := time.Date(2026, 11, 30, 5, 0, 1, 0, time.UTC)
	s, err := l.Open(context.Background(), Source{Journal: []string{"-u", "nginx.service"}, What: "unit nginx.service"}, at, 5*time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []string{"-o", "json", "--no-pager", "-q", "--since", "@1796014796", "--until", "@1796014807", "-u", "nginx.service"}
	if !slices.Equal(gotArgs, want) {
		t.Errorf("journalctl args %q, want %q", gotArgs, want)
	}
	got := collect(t, s, at.Add(-time.Second), at.Add(time.Second))
	if len(got) != 1 || !strings.Contains(got[0], "nginx.service: 2026/11/30 05:00:01 [error]") {
		t.Errorf("got %q, want the one nginx line", got)
	}
}
