package api

import (
	"context"
	"sync"
	"time"
)

// Usage is what a handler reports about the work a request did, for its
// audit record and so for metering (package metering reads it back from
// the event).
type Usage struct {
	// BytesIn and BytesOut are the payload bytes received and sent.
	BytesIn, BytesOut int64
	// ModelTime is the time the model's workers spent on the request.
	ModelTime time.Duration
}

type usageKey struct{}

// usageAcc accumulates the usage a request's handler reports.
type usageAcc struct {
	mu sync.Mutex
	u  Usage
}

// ReportUsage adds u to the usage of the request ctx belongs to. Outside
// the pipeline (no request) it does nothing.
func ReportUsage(ctx context.Context, u Usage) {
	acc, ok := ctx.Value(usageKey{}).(*usageAcc)
	if !ok {
		return
	}
	acc.mu.Lock()
	acc.u.BytesIn += u.BytesIn
	acc.u.BytesOut += u.BytesOut
	acc.u.ModelTime += u.ModelTime
	acc.mu.Unlock()
}

// withUsage returns ctx carrying a fresh accumulator.
func withUsage(ctx context.Context) (context.Context, *usageAcc) {
	acc := &usageAcc{}
	return context.WithValue(ctx, usageKey{}, acc), acc
}

// record copies the accumulated usage into rec.
func (a *usageAcc) record(rec *AuditRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec.BytesIn, rec.BytesOut, rec.ModelTime = a.u.BytesIn, a.u.BytesOut, a.u.ModelTime
}
