package sighting

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/lab"
)

// labRun is one committed lab run: both captures and the verdicts the
// scenario knows are right for every reset in each (see testdata/lab).
type labRun struct {
	name           string
	client, server string
	want           [2][]lab.Expected // client.pcap's resets, server.pcap's
}

func labRuns(t *testing.T) []labRun {
	t.Helper()
	root := filepath.Join(testutil.ModuleRoot(t), "testdata", "lab")
	dirs, _ := filepath.Glob(filepath.Join(root, "*-ipv[46]"))
	if len(dirs) == 0 {
		t.Fatalf("no lab captures under %s", root)
	}
	var out []labRun
	for _, d := range dirs {
		r := labRun{name: filepath.Base(d), client: filepath.Join(d, lab.ClientPcap), server: filepath.Join(d, lab.ServerPcap)}
		for i, f := range []string{lab.ClientExpected, lab.ServerExpected} {
			w, err := lab.ReadExpected(filepath.Join(d, f))
			if err != nil {
				t.Fatal(err)
			}
			r.want[i] = w
		}
		out = append(out, r)
	}
	return out
}

// fromEndpoint says the reset was sent by the host whose address it
// carries; anything else (a router's reject or forgery, a second host
// answering for the address) never left that host.
func fromEndpoint(x lab.Expected) bool { return x.Sender == cause.Client || x.Sender == cause.Server }

// twin is the same reset in the other capture, by the scenario's own
// account: an endpoint's reset from the same sender, with the same cause,
// to or from the same server address and port. The server's own address
// is never rewritten in the lab; the client's is behind the NAT variants'
// masquerading router, which is why it is not compared.
func twin(x lab.Expected, other []lab.Expected) (lab.Expected, bool) {
	if !fromEndpoint(x) {
		return lab.Expected{}, false
	}
	for _, o := range other {
		if o.Sender == x.Sender && o.Cause == x.Cause && serverEnd(o) == serverEnd(x) {
			return o, true
		}
	}
	return lab.Expected{}, false
}

// serverEnd is the server's address and port of an endpoint's reset.
func serverEnd(x lab.Expected) string {
	if x.Sender == cause.Server {
		return x.From
	}
	return x.To
}

// TestLabJoin joins every committed lab run's client-side and server-side
// captures. Every reset an endpoint sent is found in both, as the same
// reset; every reset made by a device between them (the router's reject or
// forgery, a second host answering for the server's address) is seen in
// one capture only and the join says the capture nearer its purported
// sender held the traffic and never saw it leave.
func TestLabJoin(t *testing.T) {
	var resets, both, between int
	var table strings.Builder
	for _, run := range labRuns(t) {
		t.Run(run.name, func(t *testing.T) {
			j := joinFiles(t, run.client, run.server)
			if len(run.want[0])+len(run.want[1]) > 0 && len(j.Groups) != 1 {
				t.Fatalf("got groups %v, want the two captures in one", j.Groups)
			}
			for f := range 2 {
				for _, x := range run.want[f] {
					resets++
					s, ok := j.Lookup(f, x.Frame)
					if !ok {
						t.Errorf("capture %d frame %d: the join knows nothing of it", f, x.Frame)
						continue
					}
					tw, hasTwin := twin(x, run.want[1-f])
					fmt.Fprintf(&table, "%-42s %d %4d %-10s sightings %d  %+v\n", run.name, f, x.Frame, x.Sender, len(s.Sightings), s.Path)
					switch {
					case hasTwin:
						if len(s.Sightings) != 2 || s.Sightings[f].Frame != x.Frame || s.Sightings[1-f].Frame != tw.Frame {
							t.Errorf("capture %d frame %d: got sightings %+v, want frames %d and %d", f, x.Frame, s.Sightings, x.Frame, tw.Frame)
						}
						both++
					case fromEndpoint(x):
						t.Errorf("capture %d frame %d: an endpoint's reset the scenario lists in one capture only", f, x.Frame)
					default:
						if len(s.Sightings) != 1 || !s.Path.NearerSender || s.Path.SeenNearerSender {
							t.Errorf("capture %d frame %d (%s by %s): got %d sightings, path %+v; want one sighting and a capture nearer the sender that did not see it",
								f, x.Frame, x.Cause, x.Sender, len(s.Sightings), s.Path)
						}
						between++
					}
				}
			}
		})
	}
	t.Logf("\n%s", table.String())
	t.Logf("lab: %d reset sightings; %d matched in both captures, %d made between them (seen once, never left the purported sender)", resets, both, between)
}

func joinFiles(t *testing.T, files ...string) *Join {
	t.Helper()
	var idx []*Index
	for _, f := range files {
		x, err := IndexFile(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, x)
	}
	return Match(idx)
}
