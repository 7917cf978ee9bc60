// Package testutil holds the helpers shared by rstscope's tests: privilege
// gates, the location of the shared corpus, and golden files.
package testutil

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Update makes golden-file tests rewrite their golden files: go test ./... -update.
var Update = flag.Bool("update", false, "rewrite golden files under testdata/")

// RequireRoot skips the test with a clear reason unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("needs Linux (network namespaces, eBPF); this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, eBPF, raw sockets); run the tests as root, as CI does")
	}
}

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CorpusDir returns ../shared/corpus beside the checkout, or skips the test
// with a clear message where it is absent (a user's fresh clone has none).
// RSTSCOPE_CORPUS overrides the location.
func CorpusDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("RSTSCOPE_CORPUS")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(t), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Skipf("shared corpus not found at %s (set RSTSCOPE_CORPUS, or run beside ../shared/ as CI does)", dir)
	}
	return dir
}

// Golden compares got with the file testdata/name under dir, or rewrites it with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (regenerate with -update): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("output differs from %s (regenerate with -update if intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// RequireToolsEnv, when set (.ci/run sets it, after scripts/setup.sh has
// installed everything), turns LookTool's skip into a failure: there a
// missing program means a feature went untested, not a bare machine.
const RequireToolsEnv = "RSTSCOPE_REQUIRE_TOOLS"

// LookTool returns the path of a program a test drives, looked for on
// PATH and where scripts/setup.sh installs (/usr/sbin, /sbin, ~/go/bin).
// Without it the test skips saying what installs it (installedBy), or
// fails where RequireToolsEnv is set.
func LookTool(t testing.TB, name, installedBy string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", filepath.Join(os.Getenv("HOME"), "go", "bin")} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv(RequireToolsEnv) != "" {
		t.Fatalf("%s is not installed (%s), and %s is set: setup should have installed it", name, installedBy, RequireToolsEnv)
	}
	t.Skipf("needs %s (%s)", name, installedBy)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
