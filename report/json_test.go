package report

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rstscope/rstscope/cause"
)

// plain has Finding's fields without its methods: encoding/json's own
// rendering, which AppendJSON must reproduce byte for byte.
type plain Finding

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		f    Finding
	}{
		{"capture finding", Finding{Time: time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC), Frame: 42, File: "a.pcap",
			Client: "10.0.0.1:40000", Server: "10.0.0.2:80", From: "10.0.0.2:80", Sender: cause.Server, Cause: cause.ClosedPort,
			Confidence: 0.9, Evidence: []string{"answers client's SYN (ack 5 = ISN+1)"}, Advice: cause.Lookup(cause.ClosedPort).Advice, Benign: true,
			Filter: "ip.addr==10.0.0.1 && tcp.port==40000 && ip.addr==10.0.0.2 && tcp.port==80"}},
		{"live finding", Finding{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), Client: "[fd00::1]:5", Server: "[fd00::2]:443",
			From: "[fd00::1]:5", Direction: "sent", Sender: cause.Client, Cause: cause.ApplicationAbort, Confidence: 1,
			KernelReason: "TCP_STATE", State: "TCP_ESTABLISHED", NetNS: 4026531840, PID: 1234, Command: "curl", Cgroup: "/system.slice/x.service", Context: "process"}},
		{"awkward text", Finding{Evidence: []string{"quote \" backslash \\ tab \t newline \n <tag> & amp", "ctl \x01 \x1f", "bad utf8 \xff\xfe end", "sep \u2028 \u2029", "ünïcödé ✓"},
			Confidence: 0.000000123, Advice: []string{}}},
		{"zero value", Finding{}},
		{"alternatives, sightings, logs", Finding{Cause: cause.UnreadDataClose, Confidence: 0.55,
			Alternatives: []Alternative{{cause.ApplicationAbort, 0.35}, {cause.Unknown, 0.1}},
			Sightings: []Sighting{{File: "client.pcap", Frame: 7, Time: time.Date(2026, 11, 30, 5, 0, 1, 234000000, time.UTC), TTL: 63},
				{File: "server<1>.pcap", Frame: 9, TTL: 64}},
			Logs: []LogLine{{File: "/var/log/nginx/error.log", Line: 12, Time: time.Date(2026, 11, 30, 5, 0, 1, 0, time.UTC),
				Text: "recv() failed (104: Connection reset by peer) <x>", MatchedBy: "time+address"}}}},
		{"large confidence", Finding{Confidence: 1e21}},
		{"every byte", Finding{Evidence: []string{everyByte()}}},
		// The vocabulary's advice is written pre-encoded; a copy, a part of
		// it and changed advice are encoded afresh, and all must match.
		{"advice copied", Finding{Advice: append([]string{}, cause.Lookup(cause.HalfOpen).Advice...)}},
		{"advice shortened", Finding{Advice: cause.Lookup(cause.HalfOpen).Advice[:1]}},
		{"advice of another finding", Finding{Advice: []string{"<check> & \"see\""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal((*plain)(&tt.f))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.f.AppendJSON(nil); string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			viaMarshal, err := json.Marshal(tt.f)
			if err != nil || string(viaMarshal) != string(want) {
				t.Errorf("json.Marshal(Finding) = %s, %v; want %s", viaMarshal, err, want)
			}
		})
	}
}

// everyByte is a string of the bytes 0 to 255, each once.
func everyByte() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}

func BenchmarkAppendJSON(b *testing.B) {
	f := Finding{Time: time.Now(), Frame: 42, File: "a.pcap", Client: "10.0.0.1:40000", Server: "10.0.0.2:80", From: "10.0.0.2:80",
		Sender: cause.Server, Cause: cause.ClosedPort, Confidence: 0.9, Evidence: []string{"answers client's SYN"},
		Advice: cause.Lookup(cause.ClosedPort).Advice, Benign: true}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.AppendJSON(buf[:0])
	}
}

// TestAppendFloatMatchesEncodingJSON covers appendFloat's hundredths and
// the values next to them, which must go the long way.
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	var fs []float64
	for k := range 101 {
		f := float64(k) / 100
		fs = append(fs, f, -f, math.Nextafter(f, 2), math.Nextafter(f, -1), f*0.999, float64(k)/1000, float64(k)/7)
	}
	fs = append(fs, 0.95*0.8, 0.1+0.2, 1.005, 1e-7, 1e21, math.Copysign(0, -1))
	for _, f := range fs {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFloat(nil, f); string(got) != string(want) {
			t.Errorf("appendFloat(%v): got %s, want %s", f, got, want)
		}
	}
}

// FuzzAppendString checks appendString, its eight-byte test included,
// against encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text long enough", everyByte(), "a<b>&\"\\\x00\x1f\x7f\u2028é\xff", "12345678<", "1234567\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q): got %s, want %s", s, got, want)
		}
	})
}

// TestPlain8 walks each byte value through each of the eight positions of
// a word that is otherwise plain.
func TestPlain8(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := c < utf8.RuneSelf && plainJSON[c]
			if got := plain8(string(w)); got != want {
				t.Errorf("plain8 with %#x at %d: got %v, want %v", c, pos, got, want)
			}
		}
	}
}

// TestAppendUTCMatchesTime compares appendUTC with the time package's own
// RFC 3339 over the years it writes: the ends, leap days, the epoch and
// the instants either side, and a spread of random instants.
func TestAppendUTCMatchesTime(t *testing.T) {
	ts := []time.Time{minTime, maxTime, time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-1, 999999999), time.Unix(0, 1),
		time.Date(2000, 2, 29, 23, 59, 59, 100000000, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2400, 12, 31, 12, 0, 0, 120, time.UTC), time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC),
		time.Date(4, 2, 29, 1, 2, 3, 400000000, time.UTC), time.Date(1600, 2, 29, 0, 0, 0, 0, time.UTC)}
	rng := rand.New(rand.NewPCG(1, 2))
	lo, hi := minTime.Unix(), maxTime.Unix()
	for range 200000 {
		ts = append(ts, time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(1e9)).UTC())
	}
	for i := range 100000 {
		ts = append(ts, time.Unix(int64(i)*86400-2*86400*50000, int64(i)).UTC())
	}
	for _, tm := range ts {
		tm = tm.UTC()
		want := tm.AppendFormat(nil, time.RFC3339Nano)
		if got := appendUTC(nil, tm); string(got) != string(want) {
			t.Fatalf("appendUTC(%v): got %s, want %s", tm.UnixNano(), got, want)
		}
	}
}
