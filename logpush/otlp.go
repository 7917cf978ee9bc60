package logpush

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// OTLP sends batches as OTLP logs over HTTP (protobuf, POST /v1/logs) with
// the OpenTelemetry Go SDK's exporter. The resource says service.name
// "rstscope" and host.name the node; each record carries the attributes
// cause and sender, severity WARN (INFO for a benign reset), the reset's
// time, and the finding's JSON as its body.
//
// The SDK's BatchProcessor queues and drops on its own, without a count
// the watch could export, so the Queue does the batching and retries and
// this hands its batches straight to the exporter (its own retries off).
type OTLP struct {
	exp    *otlploghttp.Exporter
	lp     *sdklog.LoggerProvider
	logger otellog.Logger
	col    *collector
}

// NewOTLP returns a sender to endpoint, a URL such as
// http://collector:4318 (/v1/logs is added when it has no path).
func NewOTLP(endpoint, node string) (*OTLP, error) {
	exp, err := otlploghttp.New(context.Background(),
		otlploghttp.WithEndpointURL(otlpURL(endpoint)),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}),
	)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter for %s: %w", endpoint, err)
	}
	col := &collector{}
	lp := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(col),
		sdklog.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "rstscope"),
			attribute.String("host.name", node),
		)),
	)
	return &OTLP{exp: exp, lp: lp, logger: lp.Logger("github.com/rstscope/rstscope"), col: col}, nil
}

// otlpURL adds the OTLP/HTTP logs path to a bare endpoint.
func otlpURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return endpoint // the exporter reports a bad URL
	}
	u.Path = "/v1/logs"
	return u.String()
}

// Send exports batch as one request. The Queue calls it from one goroutine.
func (o *OTLP) Send(ctx context.Context, batch []Entry) error {
	now := time.Now()
	o.col.records = o.col.records[:0]
	for i := range batch {
		e := &batch[i]
		var r otellog.Record
		r.SetTimestamp(e.Time)
		r.SetObservedTimestamp(now)
		if e.Benign {
			r.SetSeverity(otellog.SeverityInfo)
			r.SetSeverityText("INFO")
		} else {
			r.SetSeverity(otellog.SeverityWarn)
			r.SetSeverityText("WARN")
		}
		r.SetEventName("rstscope.reset")
		r.SetBody(attribute.StringValue(string(e.Line)))
		r.AddAttributes(attribute.String("cause", e.Cause), attribute.String("sender", e.Sender))
		o.logger.Emit(ctx, r)
	}
	err := o.exp.Export(ctx, o.col.records)
	o.col.records = o.col.records[:0]
	return err
}

// Close shuts the exporter down.
func (o *OTLP) Close(ctx context.Context) error {
	o.lp.Shutdown(ctx)
	return o.exp.Shutdown(ctx)
}

// collector is the LoggerProvider's processor: it only keeps each emitted
// record (a clone: the SDK reuses them) for Send to export, so records get
// the provider's resource and scope without the SDK's own queue.
type collector struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (c *collector) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

func (c *collector) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.mu.Lock()
	c.records = append(c.records, r.Clone())
	c.mu.Unlock()
	return nil
}

func (c *collector) Shutdown(context.Context) error   { return nil }
func (c *collector) ForceFlush(context.Context) error { return nil }
