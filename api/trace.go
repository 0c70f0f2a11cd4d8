package api

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tenantml/tenantml/tracing"
)

// tracer is the pipeline's tracer, a no-op one when none is set.
func (p *Pipeline) tracer() trace.Tracer {
	if p.Tracer == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return p.Tracer
}

// startRequest starts the request's root span. An incoming trace context
// is ignored: a client neither joins nor names the operator's traces.
func (p *Pipeline) startRequest(r *http.Request, op Op) (*http.Request, trace.Span) {
	ctx, span := p.tracer().Start(r.Context(), tracing.SpanRequest, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(tracing.Action.String(truncateText(op.Action, maxAuditedAction))))
	return r.WithContext(ctx), span
}

// endRequest records the outcome on the root span and ends it. The
// attributes are the audit event's tenant, decision, code and status:
// never a principal, an address or a payload.
func endRequest(span trace.Span, rec *AuditRecord) {
	span.SetAttributes(
		tracing.TenantID.String(rec.TenantID),
		tracing.Decision.String(rec.Decision.Effect.String()),
		attribute.Int("http.response.status_code", rec.Status),
	)
	if rec.ErrorCode != "" {
		span.SetAttributes(tracing.ErrorCode.String(rec.ErrorCode))
	}
	if rec.Status >= 500 {
		span.SetStatus(codes.Error, rec.ErrorCode)
	}
	span.End()
}

// stage starts the span of one pipeline stage, tagged with the tenant
// known so far.
func (p *Pipeline) stage(ctx context.Context, name string, rec *AuditRecord) (context.Context, trace.Span) {
	return p.tracer().Start(ctx, name, trace.WithAttributes(tracing.TenantID.String(rec.TenantID)))
}
