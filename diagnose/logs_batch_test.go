package diagnose

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

// TestJoinAllAgreesWithAttach: the batched join must give every finding
// exactly the lines, order and verdict that Attach (every line of the
// window looked at) gives it. The log crowds few addresses and ports into
// whole seconds, so ranks tie, distances tie and walks have to stop right;
// it mixes every kind of line the ranks tell apart (a->b pairs, a client's
// ip:port, a server's, bare addresses with and without ports beside them,
// haproxy sessions with server-side states, lines naming nothing, lines
// without a time of their own).
func TestJoinAllAgreesWithAttach(t *testing.T) {
	batched, fs, want := crowdedJoin(t)
	if err := batched.JoinAll(fs); err != nil {
		t.Fatal(err)
	}
	compareJoins(t, fs, want)
}

// crowdedJoin makes the log and findings of TestJoinAllAgreesWithAttach:
// a joiner on the log, the findings, and what Attach gives each.
func crowdedJoin(t *testing.T) (*LogJoiner, []report.Finding, []report.Finding) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 9))
	t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	clients := []string{"10.1.0.1", "10.1.0.2", "fd01::1"}
	servers := []string{"10.2.0.1", "10.2.0.2", "fd02::1"}
	ep := func(hosts []string, ports int) string {
		h := hosts[r.IntN(len(hosts))]
		p := 1000 + r.IntN(ports)
		if strings.Contains(h, ":") {
			return fmt.Sprintf("[%s]:%d", h, p)
		}
		return fmt.Sprintf("%s:%d", h, p)
	}
	bare := func(e string) string { return strings.Trim(e[:strings.LastIndexByte(e, ':')], "[]") }
	var logA, logB strings.Builder
	for i := 0; i < 6000; i++ {
		ts := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		if r.IntN(10) == 0 {
			ts = ts.Add(-time.Duration(r.IntN(3000)) * time.Millisecond)
		}
		c, s := ep(clients, 6), ep(servers, 3)
		w := &logA
		if r.IntN(3) == 0 {
			w = &logB
		}
		switch r.IntN(9) {
		case 0:
			fmt.Fprintf(w, "%s - - [%s] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n", bare(c), ts.Format("02/Jan/2006:15:04:05 -0700"))
		case 1:
			fmt.Fprintf(w, "%s [error] 1#1: *%d recv() failed (104: Connection reset by peer) while reading response header from upstream, client: %s, upstream: \"http://%s/\"\n", ts.Format("2006/01/02 15:04:05"), i, bare(c), s)
		case 2:
			st := []string{"----", "sH--", "SD--", "CD--", "sD--"}[r.IntN(5)]
			fmt.Fprintf(w, "%s [%s] fe be/s1 0/0/1/%d/%d 200 1 - - %s 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n", c, ts.Add(-5*time.Millisecond).Format("02/Jan/2006:15:04:05.000"), 4, 5, st)
		case 3:
			fmt.Fprintf(w, "%s http: read tcp %s->%s: read: connection reset by peer\n", ts.Format("2006/01/02 15:04:05.000000"), s, c)
		case 4:
			fmt.Fprintf(w, "%s worker: ConnectionResetError: [Errno 104] Connection reset by peer\n", ts.Format("2006-01-02 15:04:05,000"))
		case 5:
			fmt.Fprintf(w, "%s app: served %s\n", ts.Format("2006-01-02T15:04:05Z"), bare(s))
		case 6:
			fmt.Fprintf(w, "%s app: upstream %s answered\n", ts.Format("2006-01-02T15:04:05.000Z"), s)
		case 7:
			fmt.Fprintf(w, "    at java.net.SocketException: Connection reset %s\n", bare(c))
		case 8:
			fmt.Fprintf(w, "%s app: %s talked to %s\n", ts.Format("2006/01/02 15:04:05"), bare(c), s)
		}
	}
	logs := map[string]string{"a.log": logA.String(), "b.log": logB.String()}
	o := DefaultLogOptions
	o.AutoOffset = false
	batched := joinerFor(t, logs, o)
	o.Time.Loc = time.UTC
	single := OpenLogs(batched.set.Files(), o)
	if err := single.Err(); err != nil {
		t.Fatal(err)
	}
	var fs []report.Finding
	causes := []cause.ID{cause.ApplicationAbort, cause.Unknown, cause.ClosedPort}
	for i := 0; i < 1500; i++ {
		at := t0.Add(time.Duration(r.IntN(70000)) * time.Millisecond)
		if i%2 == 0 { // halfway between whole seconds: lines tie on distance
			at = t0.Add(time.Duration(r.IntN(140)) * 500 * time.Millisecond)
		}
		c, s := ep(clients, 6), ep(servers, 3)
		from := c
		if r.IntN(2) == 0 {
			from = s
		}
		fs = append(fs, finding(at.Format(time.RFC3339Nano), c, s, from, causes[r.IntN(len(causes))]))
	}
	want := make([]report.Finding, len(fs))
	for i := range fs {
		want[i] = fs[i]
		want[i].Evidence = append([]string(nil), fs[i].Evidence...)
		if err := single.Attach(&want[i]); err != nil {
			t.Fatal(err)
		}
	}
	return batched, fs, want
}

// compareJoins checks that every finding got the lines, order and verdict
// Attach gave it, and that the log joined most of them.
func compareJoins(t *testing.T, fs, want []report.Finding) {
	t.Helper()
	if len(fs) != len(want) {
		t.Fatalf("%d findings, want %d", len(fs), len(want))
	}
	joined, bad := 0, 0
	for i := range fs {
		if len(want[i].Logs) > 0 {
			joined++
		}
		if !reflect.DeepEqual(fs[i], want[i]) {
			t.Errorf("finding %d (%s %s-%s): JoinAll gave\n%+v\nAttach gave\n%+v", i, fs[i].Time.Format(time.RFC3339Nano), fs[i].Client, fs[i].Server, fs[i].Logs, want[i].Logs)
			if bad++; bad > 5 {
				break
			}
		}
	}
	if joined < len(fs)/2 {
		t.Errorf("only %d of %d findings joined a line: the log does not test much", joined, len(fs))
	}
}

// TestStreamAgreesWithAttach: the streaming join (NDJSON) gives every
// finding what Attach gives it and emits them in the order they were
// added, whether they come in time order, roughly (each up to 3 s late,
// as a look-ahead delays them) or not at all (every batch cut short by
// the span), and whether batches close by span, by count or by a hold
// timer firing at any moment.
func TestStreamAgreesWithAttach(t *testing.T) {
	batched, base, want := crowdedJoin(t)
	r := rand.New(rand.NewPCG(3, 5))
	type pair struct {
		f, w report.Finding
		late time.Time // when the finding comes, for "late"
	}
	orders := map[string]func([]pair){
		"random": func([]pair) {},
		"sorted": func(p []pair) {
			slices.SortStableFunc(p, func(a, b pair) int { return a.f.Time.Compare(b.f.Time) })
		},
		"late": func(p []pair) {
			for i := range p {
				p[i].late = p[i].f.Time.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
			}
			slices.SortStableFunc(p, func(a, b pair) int { return a.late.Compare(b.late) })
		},
	}
	for name, reorder := range orders {
		for _, hold := range []time.Duration{0, time.Microsecond} {
			t.Run(fmt.Sprintf("%s/hold=%v", name, hold), func(t *testing.T) {
				ps := make([]pair, len(base))
				for i := range base {
					ps[i] = pair{f: base[i], w: want[i]}
					ps[i].f.Evidence = slices.Clone(base[i].Evidence)
				}
				reorder(ps)
				var got []report.Finding
				var errs []error
				s := batched.Stream(hold, func(f report.Finding, err error) {
					got = append(got, f)
					if err != nil {
						errs = append(errs, err)
					}
				})
				for i := range ps {
					s.Add(ps[i].f)
				}
				s.Close()
				if len(errs) > 0 {
					t.Fatal(errs[0])
				}
				ws := make([]report.Finding, len(ps))
				for i := range ps {
					ws[i] = ps[i].w
				}
				compareJoins(t, got, ws)
			})
		}
	}
}
