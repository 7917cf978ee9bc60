package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// TestCompletionBash sources the generated bash completion in bash and asks
// bash which completion rstscope has.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	script, _, err := runCmd(t, "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rstscope.bash")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bash, "--norc", "--noprofile", "-c", "source "+path+" && complete -p rstscope").CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-F __start_rstscope rstscope") {
		t.Errorf("complete -p rstscope = %q, want the function __start_rstscope", out)
	}
	for shell, want := range map[string]string{"zsh": "#compdef rstscope", "fish": "complete -c rstscope"} {
		out, _, err := runCmd(t, "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: err %v, script lacks %q", shell, err, want)
		}
	}
}

// TestCompletionValues: the completion scripts call rstscope __complete;
// --cause completes to the vocabulary, the one table of causes.
func TestCompletionValues(t *testing.T) {
	out, _, err := runCmd(t, "__complete", "analyze", "--cause", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cause.Vocabulary {
		if !strings.Contains(out, string(c.ID)+"\t") {
			t.Errorf("--cause completion lacks %s:\n%s", c.ID, out)
		}
	}
	out, _, _ = runCmd(t, "__complete", "analyze", "--format", "")
	for _, f := range []string{"text", "json", "ndjson", "html", "conn"} {
		if !strings.Contains(out, f+"\n") {
			t.Errorf("--format completion lacks %s:\n%s", f, out)
		}
	}
}

// TestManPage renders the generated man pages with man-db's man -l.
func TestManPage(t *testing.T) {
	man := testutil.LookTool(t, "man", "man-db and groff; scripts/setup.sh installs them")
	dir := t.TempDir()
	if _, _, err := runCmd(t, "man", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	for page, want := range map[string][]string{
		"rstscope.1":         {"NAME", "rstscope", "SEE ALSO", "rstscope-analyze(1)"},
		"rstscope-analyze.1": {"--cause", "--attention", "--since", "-o, --output", "EXAMPLE"},
		"rstscope-watch.1":   {"--metrics-addr", "--cause"},
	} {
		cmd := exec.Command(man, "-l", filepath.Join(dir, page))
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "LANG=C", "LC_ALL=C", "MANWIDTH=100")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("man -l %s: %v\n%s", page, err, out)
		}
		text := string(out)
		if strings.Contains(text, "warning") {
			t.Errorf("man -l %s warned:\n%s", page, text)
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("man -l %s lacks %q:\n%s", page, w, text)
			}
		}
	}
	// Without --dir, one page on standard output.
	out, _, err := runCmd(t, "man", "analyze")
	if err != nil || !strings.HasPrefix(out, ".nh\n.TH") && !strings.Contains(out, ".TH \"RSTSCOPE-ANALYZE\"") {
		t.Errorf("man analyze: err %v, output does not start a man page: %.80q", err, out)
	}
}

// TestCLIDocCurrent keeps docs/cli.md (every command and flag) generated
// from the command definitions.
func TestCLIDocCurrent(t *testing.T) {
	out, _, err := runCmd(t, "man", "--format", "markdown")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join(testutil.ModuleRoot(t), "docs", "cli.md"), []byte(out))
}

func TestVersionFromBuildInfo(t *testing.T) {
	var b bytes.Buffer
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/rstscope/rstscope", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "3f2c1a9e"}, {Key: "vcs.time", Value: "2026-11-30T05:12:44Z"}, {Key: "vcs.modified", Value: "true"}}}
	if err := writeVersion(&b, bi); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rstscope v0.4.0\n", "revision 3f2c1a9e (2026-11-30T05:12:44Z, modified)\n", "go1.26.8 "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("version output %q lacks %q", b.String(), want)
		}
	}
	b.Reset()
	writeVersion(&b, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}})
	if !strings.HasPrefix(b.String(), "rstscope devel\nrevision unknown") {
		t.Errorf("version of a build without module version or VCS = %q", b.String())
	}
}

// TestVersionBinary builds rstscope from this checkout and compares what
// `rstscope version` says with git's own account of the tree.
func TestVersionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin, err1 := exec.LookPath("go")
	git, err2 := exec.LookPath("git")
	if err1 != nil || err2 != nil {
		t.Skip("needs go and git")
	}
	root := testutil.ModuleRoot(t)
	head, err := exec.Command(git, "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	status, _ := exec.Command(git, "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	bin := filepath.Join(t.TempDir(), "rstscope")
	build := exec.Command(gobin, "build", "-buildvcs=true", "-o", bin, "./cmd/rstscope")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, ".git")); err == nil && !st.IsDir() && strings.Contains(string(out), "revision unknown") {
		t.Skip("go build does not stamp VCS information in a git worktree (.git is a file); run from a plain checkout")
	}
	if want := "revision " + strings.TrimSpace(string(head)); !strings.Contains(string(out), want) {
		t.Errorf("version = %q, want %q", out, want)
	}
	// go counts untracked files too; git status without them can only be cleaner.
	if len(status) > 0 && !strings.Contains(string(out), "modified") {
		t.Errorf("version = %q: the tree has changes (%q) but it does not say modified", out, status)
	}
}

// TestSingleDashFlags: flags written Go-style (-format, -color=never), as
// before cobra, still work; short flags -f and -o are the long ones.
func TestSingleDashFlags(t *testing.T) {
	path := captureFile(t, "lo-resets.pcap")
	out, _, err := analyzeCmd(t, "-format", "ndjson", "-color=never", path)
	if err != nil || len(ndjsonFindings(t, out)) != 3 {
		t.Errorf("-format ndjson: err %v, output %q", err, out)
	}
	file := filepath.Join(t.TempDir(), "out.ndjson")
	if _, _, err := analyzeCmd(t, "-f", "ndjson", "-o", file, path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); len(ndjsonFindings(t, string(b))) != 3 {
		t.Errorf("-f ndjson -o FILE wrote %q", b)
	}
	if _, _, err := runCmd(t, "analyse", path); err == nil || !strings.Contains(err.Error(), "did you mean analyze") || strings.Contains(err.Error(), "\n") {
		t.Errorf("misspelt command: got %v, want one line suggesting analyze", err)
	}
	if _, stderr, err := runCmd(t); err == nil || !strings.Contains(stderr, "Available Commands") {
		t.Errorf("no arguments: got %v and stderr %q, want an error and the usage", err, stderr)
	}
}

// TestHelpExamples: every subcommand's --help has examples.
func TestHelpExamples(t *testing.T) {
	for _, c := range []string{"analyze", "watch", "check", "causes", "lab", "version", "man"} {
		out, _, err := runCmd(t, c, "--help")
		if err != nil || !strings.Contains(out, "Examples:") || !strings.Contains(out, "rstscope "+c) {
			t.Errorf("%s --help: err %v, no examples:\n%s", c, err, out)
		}
	}
}

// TestWatchFilter: watch writes only the findings the filter keeps and
// counts what it saw.
func TestWatchFilter(t *testing.T) {
	var b bytes.Buffer
	f := report.Filter{Causes: []cause.ID{cause.ClosedPort}}
	out := &findingWriter{w: &b, filter: &f}
	for _, c := range []cause.ID{cause.ClosedPort, cause.HalfOpen, cause.ClosedPort, cause.Injected} {
		out.emit(report.Finding{Cause: c, From: "10.0.0.1:80", Server: "10.0.0.1:80", Client: "10.0.0.2:4000", Sender: cause.Server})
	}
	if got := strings.Count(b.String(), "closed-port"); got != 2 || strings.Count(b.String(), "\n") != 2 || out.seen != 4 || out.matched != 2 {
		t.Errorf("wrote %q (seen %d, matched %d), want the 2 closed-port lines of 4", b.String(), out.seen, out.matched)
	}
}
