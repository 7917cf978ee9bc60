package sighting

import (
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/packet"
)

// frames encodes captured frames as the fuzz input: a 2-byte length
// before each.
func frames(tb testing.TB, path string) []byte {
	r, err := capture.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var out []byte
	for {
		data, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
		out = append(out, data...)
	}
}

// FuzzJoin feeds arbitrary Ethernet frames to two indexes (every frame to
// the first, every other one to the second, a minute later) and joins
// them: nothing may panic, and every reset the join speaks of lists itself
// among its sightings.
func FuzzJoin(f *testing.F) {
	root := filepath.Join(testutil.ModuleRoot(f), "testdata", "lab")
	for _, d := range []string{"injected-ipv4", "syn-conflict-ipv6", "application-abort-nat-ipv4"} {
		f.Add(frames(f, filepath.Join(root, d, "client.pcap")))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := newIndexer("a"), newIndexer("b")
		t0 := time.Unix(1_700_000_000, 0)
		for i := uint64(1); len(in) >= 2; i++ {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			n = min(n, len(in))
			data := in[:n]
			in = in[n:]
			ts := t0.Add(time.Duration(i) * time.Millisecond)
			a.frame(data, capture.Info{Time: ts, Frame: i, CaptureLen: n, WireLen: n, Link: packet.LinkType(1)})
			if i%2 == 0 {
				b.frame(data, capture.Info{Time: ts.Add(time.Minute), Frame: i / 2, CaptureLen: n, WireLen: n, Link: packet.LinkType(1)})
			}
		}
		j := Match([]*Index{a.x, b.x})
		for fi, x := range []*Index{a.x, b.x} {
			for _, r := range x.resets {
				s, ok := j.Lookup(fi, r.frame)
				if !ok {
					continue
				}
				self := false
				for _, sg := range s.Sightings {
					self = self || sg.File == x.File && sg.Frame == r.frame
				}
				if !self {
					t.Errorf("%s frame %d: sightings %+v do not list it", x.File, r.frame, s.Sightings)
				}
			}
		}
	})
}
