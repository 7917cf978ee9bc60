package sighting

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/cause"
)

// rewrite appends every frame of src to w with its time shifted by shift,
// except those drop says to leave out. frames maps each source frame to
// its number in the output (0: dropped); n is the output's frame count so
// far.
func rewrite(t *testing.T, w *pcapgo.Writer, src string, shift time.Duration, drop func() bool, n *uint64) (frames map[uint64]uint64, read uint64) {
	t.Helper()
	r, err := capture.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frames = map[uint64]uint64{}
	for {
		data, info, err := r.Next()
		if errors.Is(err, io.EOF) {
			return frames, read
		}
		if err != nil {
			t.Fatal(err)
		}
		if info.Link != 1 {
			t.Fatalf("%s: link type %d, want Ethernet", src, info.Link)
		}
		read++
		if drop() {
			continue
		}
		*n++
		frames[info.Frame] = *n
		ci := gopacket.CaptureInfo{Timestamp: info.Time.Add(shift), CaptureLength: len(data), Length: info.WireLen}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClockOffsetAndLoss joins every lab run's client side with its server
// side shifted by an hour either way and missing 5 % of its packets
// (resets included, chosen by a seeded generator), each side merged into
// one capture so connections and addresses recur across runs. Every
// endpoint reset that is still in both captures must be matched, every
// router-made reset must still be found made between them, and the offset
// must come out at the shift (the lab's own offset, path delay, is tens of
// microseconds).
func TestClockOffsetAndLoss(t *testing.T) {
	runs := labRuns(t)
	for _, shift := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(shift.String(), func(t *testing.T) {
			dir := t.TempDir()
			files := [2]string{filepath.Join(dir, "client.pcap"), filepath.Join(dir, "server.pcap")}
			var ws [2]*pcapgo.Writer
			for i, name := range files {
				f, err := os.Create(name)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				ws[i] = pcapgo.NewWriterNanos(f)
				if err := ws[i].WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
					t.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, uint64(shift)))
			keep := func() bool { return false }
			lose := func() bool { return rng.Float64() < 0.05 }
			var n [2]uint64
			frames := make([][2]map[uint64]uint64, len(runs))
			var total uint64
			for i, run := range runs {
				frames[i][0], _ = rewrite(t, ws[0], run.client, 0, keep, &n[0])
				var read uint64
				frames[i][1], read = rewrite(t, ws[1], run.server, shift, lose, &n[1])
				total += read
			}
			dropped := total - n[1]
			t.Logf("server side: %d of %d packets dropped (%.1f %%), clock shifted %v", dropped, total, 100*float64(dropped)/float64(total), shift)

			j := joinFiles(t, files[0], files[1])
			off, ok := j.Offset(0, 1)
			if !ok || (off-shift).Abs() > time.Millisecond {
				t.Errorf("got offset %v (measured %v), want %v within 1 ms", off, ok, shift)
			}
			var matched, lost, between, open int
			for i, run := range runs {
				for _, x := range run.want[0] {
					s, ok := j.Lookup(0, frames[i][0][x.Frame])
					if !ok {
						t.Errorf("%s client frame %d: the join knows nothing of it", run.name, x.Frame)
						continue
					}
					tw, hasTwin := twin(x, run.want[1])
					switch {
					case hasTwin && frames[i][1][tw.Frame] == 0:
						lost++ // the server side's copy was dropped
						if len(s.Sightings) != 1 {
							t.Errorf("%s client frame %d: its twin was dropped, got %d sightings", run.name, x.Frame, len(s.Sightings))
						}
					case hasTwin:
						if len(s.Sightings) != 2 || s.Sightings[1].Frame != frames[i][1][tw.Frame] {
							t.Errorf("%s client frame %d: got sightings %+v, want server frame %d", run.name, x.Frame, s.Sightings, frames[i][1][tw.Frame])
						}
						matched++
					case !fromEndpoint(x):
						// On the lab's routed layout the TTL orders the
						// captures. duplicate-ip's bridge gives both the
						// same TTL, and the order rests on the timing of
						// the few packets both kept: when loss took the
						// server's only one (its SYN-ACK), the join may not
						// tell, and then it must claim nothing.
						undecided := x.Sender != cause.Middlebox && !s.Path.NearerSender && !s.Path.NearerReceiver
						if len(s.Sightings) != 1 || (!s.Path.NearerSender || s.Path.SeenNearerSender) && !undecided {
							t.Errorf("%s client frame %d (%s): got %d sightings, path %+v; want made between the captures", run.name, x.Frame, x.Sender, len(s.Sightings), s.Path)
						}
						if undecided {
							open++
						} else {
							between++
						}
					}
				}
			}
			t.Logf("offset %v; client-side resets: %d matched, %d whose server-side copy was dropped, %d made between, %d undecided", off, matched, lost, between, open)
		})
	}
}
