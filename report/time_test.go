package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestJSONExtremeTimes: the renderers' backstop. Times no reader should
// hand on (the readers flag them) still give valid JSON, clamped to the
// years RFC 3339 can write, in both the finding and the connection encoders.
func TestJSONExtremeTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Time
		want string
	}{
		{"year 586524", time.Unix(1<<44, 0), `"9999-12-31T23:59:59.999999999Z"`},
		{"year -1", time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), `"0000-01-01T00:00:00Z"`},
		{"zero", time.Time{}, `"0001-01-01T00:00:00Z"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Finding{Time: tc.in, Sightings: []Sighting{{Time: tc.in}}}
			fb := f.AppendJSON(nil)
			cb, err := json.Marshal(ConnSummary{Start: tc.in})
			if err != nil {
				t.Fatalf("connection: %v", err)
			}
			for _, b := range [][]byte{fb, cb} {
				if !json.Valid(b) || !strings.Contains(string(b), tc.want) {
					t.Errorf("got %s, want valid JSON with %s", b, tc.want)
				}
				var back struct {
					Time time.Time `json:"time"`
					TS   time.Time `json:"ts"`
				}
				if err := json.Unmarshal(b, &back); err != nil {
					t.Errorf("%s does not read back: %v", b, err)
				}
			}
		})
	}
}
