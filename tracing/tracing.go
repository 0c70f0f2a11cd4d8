// Package tracing sets up OpenTelemetry tracing with the OTLP/HTTP
// exporter for the operator's collector, and names the spans and
// attributes tenantml records.
//
// Tracing is off unless an endpoint is configured: Open then returns a
// no-op provider whose spans cost nothing and go nowhere. Traces are the
// operator's: they are exported only to the configured collector, never
// served by any tenant-facing API, and tenantml neither reads an incoming
// trace context (a client cannot join or name a trace) nor returns one.
// Span attributes carry the tenant ID, the IAM action, the endpoint and
// model names, the decision and the status: never payloads, credentials
// or personal fields (principal ARNs, source IPs).
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// InstrumentationName names tenantml's tracer.
const InstrumentationName = "github.com/tenantml/tenantml"

// Attribute keys tenantml sets on its spans.
const (
	// TenantID is the tenant the request acts for (its audit event's).
	TenantID = attribute.Key("tenantml.tenant_id")
	// Action is the IAM action of the request.
	Action = attribute.Key("tenantml.action")
	// Decision is the authorization effect.
	Decision = attribute.Key("tenantml.decision")
	// ErrorCode is the error code the caller was sent.
	ErrorCode = attribute.Key("tenantml.error_code")
	// Endpoint and Model name the endpoint and the TargetModel invoked.
	Endpoint = attribute.Key("tenantml.endpoint")
	Model    = attribute.Key("tenantml.model")
	// CacheHit says whether a pool model was already loaded.
	CacheHit = attribute.Key("tenantml.cache_hit")
)

// Span names.
const (
	SpanRequest      = "request"
	SpanAuthenticate = "authenticate"
	SpanAuthorize    = "authorize"
	SpanAdmit        = "admit"
	SpanHandle       = "handle"
	SpanQueue        = "queue"
	SpanModelLoad    = "model.load"
	SpanPredict      = "predict"
)

// Config configures tracing.
type Config struct {
	// Endpoint is the collector's OTLP/HTTP URL: http(s)://host:port, to
	// which /v1/traces is added, or a URL with its own path. Empty turns
	// tracing off.
	Endpoint string
	// SampleRatio is the share of requests traced, 0 to 1; default 1.
	SampleRatio float64
	// ServiceName names the service in the resource; default "tenantml".
	ServiceName string
	// Version is the service version attribute.
	Version string
}

// Provider is a tracer provider and how to stop it.
type Provider struct {
	trace.TracerProvider
	shutdown func(context.Context) error
}

// Tracer returns tenantml's tracer.
func (p *Provider) Tracer() trace.Tracer { return p.TracerProvider.Tracer(InstrumentationName) }

// Shutdown exports the spans still buffered (within ctx) and stops.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// Noop returns a provider that records nothing.
func Noop() *Provider { return &Provider{TracerProvider: noop.NewTracerProvider()} }

// Open returns the provider cfg describes: a no-op one when
// cfg.Endpoint is empty, else a batching OTLP/HTTP exporter to it.
func Open(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Endpoint == "" {
		return Noop(), nil
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("otlp-endpoint %q must be an http:// or https:// URL", cfg.Endpoint)
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, fmt.Errorf("trace sample ratio %v is not between 0 and 1", cfg.SampleRatio)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host)}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" {
		opts = append(opts, otlptracehttp.WithURLPath(p))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "tenantml"
	}
	res := resource.NewSchemaless(semconv.ServiceName(name), semconv.ServiceVersion(cfg.Version))
	ratio := cfg.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.TraceIDRatioBased(ratio)),
	)
	return &Provider{TracerProvider: tp, shutdown: func(ctx context.Context) error {
		return errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
	}}, nil
}

// Flush exports the buffered spans now (no-op providers have none).
func (p *Provider) Flush(ctx context.Context) error {
	if tp, ok := p.TracerProvider.(*sdktrace.TracerProvider); ok {
		return tp.ForceFlush(ctx)
	}
	return nil
}
