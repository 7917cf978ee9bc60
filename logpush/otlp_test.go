package logpush

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/rstscope/rstscope/cause"
)

// TestOTLPPush sends findings with the SDK's exporter to a receiver that
// decodes the request itself, with the OTLP protobuf definitions
// (ExportLogsServiceRequest), and checks the resource, each record's
// attributes, time, severity and body.
func TestOTLPPush(t *testing.T) {
	reqs := make(chan *collogs.ExportLogsServiceRequest, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export to %s (%s), want /v1/logs as application/x-protobuf", r.URL.Path, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		var req collogs.ExportLogsServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("body is not an ExportLogsServiceRequest: %v", err)
		}
		reqs <- &req
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collogs.ExportLogsServiceResponse{})
		w.Write(out)
	}))
	defer srv.Close()
	o, err := NewOTLP(srv.URL, "node-7")
	if err != nil {
		t.Fatal(err)
	}
	q := New(o, Options{Wait: 10 * time.Millisecond})
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 5, time.UTC)
	f := finding(cause.ClosedPort, cause.Server, t0)
	f.Benign = true
	q.Push(&f)
	g := finding(cause.Injected, cause.Middlebox, t0.Add(time.Second))
	q.Push(&g)
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	o.Close(context.Background())
	type rec struct {
		cause, sender, severity string
		ns                      uint64
	}
	var got []rec
	for len(reqs) > 0 {
		req := <-reqs
		for _, rl := range req.ResourceLogs {
			res := map[string]string{}
			for _, kv := range rl.Resource.Attributes {
				res[kv.Key] = kv.Value.GetStringValue()
			}
			if res["host.name"] != "node-7" || res["service.name"] != "rstscope" {
				t.Errorf("resource %v, want host.name=node-7 service.name=rstscope", res)
			}
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					attrs := map[string]string{}
					for _, kv := range lr.Attributes {
						attrs[kv.Key] = kv.Value.GetStringValue()
					}
					var body map[string]any
					if err := json.Unmarshal([]byte(lr.Body.GetStringValue()), &body); err != nil {
						t.Errorf("body is not a JSON finding: %v", err)
					}
					if body["cause"] != attrs["cause"] {
						t.Errorf("body cause %v, attribute %q", body["cause"], attrs["cause"])
					}
					got = append(got, rec{attrs["cause"], attrs["sender"], lr.SeverityText, lr.TimeUnixNano})
				}
			}
		}
	}
	want := []rec{
		{"closed-port", "server", "INFO", uint64(t0.UnixNano())},
		{"injected", "middlebox", "WARN", uint64(t0.Add(time.Second).UnixNano())},
	}
	if len(got) != len(want) {
		t.Fatalf("records %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestOTLPURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://otel:4318":             "http://otel:4318/v1/logs",
		"http://otel:4318/":            "http://otel:4318/v1/logs",
		"https://gw.example/otlp/logs": "https://gw.example/otlp/logs",
	} {
		if got := otlpURL(in); got != want {
			t.Errorf("otlpURL(%q) = %q, want %q", in, got, want)
		}
	}
}
