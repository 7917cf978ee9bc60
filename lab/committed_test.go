package lab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
)

// TestCommittedCaptures checks that testdata/lab/ agrees with itself: each
// expected-verdict file names exactly the resets its capture holds, frame
// for frame. It needs no root.
func TestCommittedCaptures(t *testing.T) {
	root := filepath.Join(testutil.ModuleRoot(t), "testdata", "lab")
	dirs, _ := filepath.Glob(filepath.Join(root, "*-ipv[46]"))
	if len(dirs) == 0 {
		t.Skipf("no committed captures under %s", root)
	}
	for _, dir := range dirs {
		for _, side := range [][2]string{{ClientPcap, ClientExpected}, {ServerPcap, ServerExpected}} {
			t.Run(filepath.Base(dir)+"/"+side[0], func(t *testing.T) {
				resets, err := readResets(filepath.Join(dir, side[0]))
				if err != nil {
					t.Fatal(err)
				}
				want, err := ReadExpected(filepath.Join(dir, side[1]))
				if err != nil {
					t.Fatal(err)
				}
				if len(resets) != len(want) {
					t.Fatalf("got %d resets, want %d", len(resets), len(want))
				}
				for i, r := range resets {
					if r.Frame != want[i].Frame || r.From.String() != want[i].From || r.To.String() != want[i].To {
						t.Errorf("reset %d: got frame %d %s→%s, want frame %d %s→%s", i, r.Frame, r.From, r.To, want[i].Frame, want[i].From, want[i].To)
					}
				}
			})
		}
		if _, err := os.Stat(filepath.Join(dir, KernelJSON)); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}
