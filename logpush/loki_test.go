package logpush

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/report"
)

func finding(c cause.ID, s cause.Sender, at time.Time) report.Finding {
	return report.Finding{Time: at, Client: "10.0.0.2:40000", Server: "10.0.0.1:80", From: "10.0.0.1:80", Cause: c, Sender: s, Confidence: 0.9}
}

// TestLokiPush sends findings through a Queue to a receiver that decodes
// the body as Loki's push API documents it (streams of labels and [ns,
// line] pairs), with encoding/json into plain maps, not our types.
func TestLokiPush(t *testing.T) {
	got := make(chan map[string]any, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/loki/api/v1/push" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("push to %s (%s), want /loki/api/v1/push as application/json", r.URL.Path, r.Header.Get("Content-Type"))
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("push body is not JSON: %v: %s", err, b)
		}
		got <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	q := New(&Loki{URL: LokiURL(srv.URL), Node: "node-1"}, Options{Wait: 10 * time.Millisecond})
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	q.Push(ptr(finding(cause.ClosedPort, cause.Server, t0)))
	q.Push(ptr(finding(cause.ClosedPort, cause.Server, t0.Add(time.Millisecond))))
	q.Push(ptr(finding(cause.FirewallReject, cause.Middlebox, t0.Add(2*time.Millisecond))))
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := q.Stats(); st.Sent != 3 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 3 sent, 0 dropped", st)
	}
	lines := map[string]int{}
	for len(got) > 0 {
		body := <-got
		for _, s := range body["streams"].([]any) {
			s := s.(map[string]any)
			labels := s["stream"].(map[string]any)
			if labels["node"] != "node-1" || labels["job"] != "rstscope" {
				t.Errorf("stream labels %v, want node=node-1 job=rstscope", labels)
			}
			for _, v := range s["values"].([]any) {
				v := v.([]any)
				ns, err := strconv.ParseInt(v[0].(string), 10, 64)
				if err != nil || ns < t0.UnixNano() || ns > t0.Add(2*time.Millisecond).UnixNano() {
					t.Errorf("timestamp %v, want ns between the findings' times", v[0])
				}
				var f map[string]any
				if err := json.Unmarshal([]byte(v[1].(string)), &f); err != nil {
					t.Errorf("line is not a JSON finding: %v", err)
				}
				if f["cause"] != labels["cause"] || f["sender"] != labels["sender"] {
					t.Errorf("line says %v/%v in stream %v", f["cause"], f["sender"], labels)
				}
				lines[labels["cause"].(string)+"/"+labels["sender"].(string)]++
			}
		}
	}
	if lines["closed-port/server"] != 2 || lines["firewall-reject/middlebox"] != 1 || len(lines) != 2 {
		t.Errorf("lines by stream %v, want closed-port/server 2, firewall-reject/middlebox 1", lines)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLokiURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://loki:3100":                           "http://loki:3100/loki/api/v1/push",
		"http://loki:3100/":                          "http://loki:3100/loki/api/v1/push",
		"http://vl:9428/insert/loki/api/v1/push":     "http://vl:9428/insert/loki/api/v1/push",
		"https://gw.example/tenant/loki/api/v1/push": "https://gw.example/tenant/loki/api/v1/push",
	} {
		if got := LokiURL(in); got != want {
			t.Errorf("LokiURL(%q) = %q, want %q", in, got, want)
		}
	}
}
