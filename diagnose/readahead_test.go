package diagnose

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/packet"
)

// TestReadAheadSameAsInline: reading on a second goroutine hands on the
// same frames, decoded the same (payloads still in place), in the same
// order, with the same final error, as reading and decoding inline — for
// a whole file and for one cut short, each spread over many small batches
// so batch boundaries and recycling are exercised.
func TestReadAheadSameAsInline(t *testing.T) {
	root := testutil.ModuleRoot(t)
	defer func(f, b int) { batchFrames, batchBytes = f, b }(batchFrames, batchBytes)
	batchFrames, batchBytes = 7, 1000
	for _, name := range []string{"testdata/sample/resets.pcap", "testdata/capture/lo-resets-truncated.pcap", "testdata/capture/lo-resets.pcapng"} {
		name = filepath.Join(root, name)
		t.Run(filepath.Base(name), func(t *testing.T) {
			read := func(ahead bool) (frames []string, err error) {
				r, err := capture.Open(name)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				// Each frame with its decoding, payload bytes included:
				// inline, decoded here; read ahead, decoded there.
				handle := func(data []byte, info capture.Info, p *packet.Packet, k *flow.Key, err error) {
					frames = append(frames, fmt.Sprintf("%d %d %x %v %+v %x %v", info.Frame, info.CaptureLen, data, err, *p, p.Payload, *k))
				}
				if ahead {
					err = readAhead(context.Background(), r, Options{}, handle, nil, nil)
				} else {
					var p packet.Packet
					err = readInline(r, Options{}, func(data []byte, info capture.Info) {
						var k flow.Key
						err := p.Decode(data, info.Link)
						if err == nil {
							k, _ = flow.MakeKey(p.SrcAddrPort(), p.DstAddrPort())
						}
						handle(data, info, &p, &k, err)
					})
				}
				return frames, err
			}
			want, wantErr := read(false)
			got, gotErr := read(true)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("got error %v, want %v", gotErr, wantErr)
			}
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("got %d frames, want %d (and some)", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("frame %d differs:\ngot  %.80s\nwant %.80s", i+1, got[i], want[i])
				}
			}
		})
	}
}
