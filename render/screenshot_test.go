package render_test

import (
	"bytes"
	"encoding/binary"
	"github.com/rstscope/rstscope/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/render"
)

// TestScreenshotScript runs scripts/screenshot.sh on the sample's report
// and reads the PNGs' own headers: one image per width asked for, that
// wide, and a load time printed for each.
func TestScreenshotScript(t *testing.T) {
	testutil.LookTool(t, "chromium", "scripts/setup.sh installs it as root")
	rep := analyze(t, sample)
	var b bytes.Buffer
	if err := render.HTMLPage(&b, rep, diagnose.Ladders(rep, diagnose.DefaultOptions)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("../scripts/screenshot.sh", "-w", "1400 480", "-H", "900", page, filepath.Join(dir, "shot")).CombinedOutput()
	if err != nil {
		t.Fatalf("screenshot.sh: %v\n%s", err, out)
	}
	for _, w := range []uint32{1400, 480} {
		name := filepath.Join(dir, "shot-"+itoa(w)+".png")
		png, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// PNG: 8-byte signature, then the IHDR chunk: length, "IHDR", width, height.
		if len(png) < 24 || string(png[1:4]) != "PNG" || string(png[12:16]) != "IHDR" {
			t.Fatalf("%s is not a PNG", name)
		}
		if gw, gh := binary.BigEndian.Uint32(png[16:]), binary.BigEndian.Uint32(png[20:]); gw != w || gh != 900 {
			t.Errorf("%s is %d×%d, want %d×900", name, gw, gh, w)
		}
		if !regexp.MustCompile(`width ` + itoa(w) + `: loaded in [0-9]+ ms`).Match(out) {
			t.Errorf("no load time for width %d in:\n%s", w, out)
		}
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
