package metering

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/audit"
)

// Event names and data keys the meter reads from audit events.
const (
	// InvokeEventName is the eventName of InvokeEndpoint requests.
	InvokeEventName = "InvokeEndpoint"
	// DataBytesIn, DataBytesOut and DataModelLatencyMs are the keys of an
	// invocation's additionalEventData that carry its usage.
	DataBytesIn        = "bytesTransferredIn"
	DataBytesOut       = "bytesTransferredOut"
	DataModelLatencyMs = "modelLatencyMs"
)

// EventUsage is the usage one audit event records: nothing for events
// other than a tenant's allowed InvokeEndpoint requests.
func EventUsage(ev *audit.Event) []Record {
	if ev.EventType != audit.TypeAPICall || ev.EventName != InvokeEventName || ev.TenantID == "" || ev.Decision.Effect != audit.Allowed {
		return nil
	}
	h := Hour(ev.EventTime)
	rec := func(d Dimension, v int64) Record {
		return Record{TenantID: ev.TenantID, Hour: h, Dimension: d, Value: v}
	}
	out := []Record{rec(Invocations, 1)}
	if ev.ErrorCode != "" {
		out = append(out, rec(Errors, 1))
	}
	for _, x := range []struct {
		key string
		d   Dimension
	}{{DataBytesIn, BytesIn}, {DataBytesOut, BytesOut}, {DataModelLatencyMs, ModelComputeMs}} {
		if n, err := strconv.ParseInt(ev.AdditionalEventData[x.key], 10, 64); err == nil && n > 0 {
			out = append(out, rec(x.d, n))
		}
	}
	return out
}

// EventReader reads the audit log; *audit.Log implements it.
type EventReader interface {
	Lookup(ctx context.Context, f audit.Filter) (audit.Page, error)
}

// Meter derives usage from one audit log: each Sync commits the usage of
// the durable events after the watermark together with the new watermark.
type Meter struct {
	Store  Store
	Events EventReader
	// Source names the watermark: one per audit log ("audit/<log ID>"),
	// since every server keeps its own log.
	Source string
	// BatchSize bounds the events one transaction meters; default 1000.
	BatchSize int

	mu                      sync.Mutex
	events, commits, lagged atomic.Int64
}

// MeterStats counts a meter's work, for metrics.
type MeterStats struct {
	// Events is how many events this process metered; Commits the
	// transactions that did it; Watermark the last committed position.
	Events, Commits, Watermark int64
}

// Stats returns the meter's counters.
func (m *Meter) Stats() MeterStats {
	return MeterStats{Events: m.events.Load(), Commits: m.commits.Load(), Watermark: m.lagged.Load()}
}

// Sync meters every event that is durable now and not yet metered, and
// returns how many it metered. Concurrent calls are serialised; a
// concurrent meter of the same source (which there should not be) makes
// it stop with ECONFLICT after committing nothing twice.
func (m *Meter) Sync(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := m.BatchSize
	if limit <= 0 {
		limit = 1000
	}
	var total int64
	for {
		from, err := m.Store.Watermark(ctx, m.Source)
		if err != nil {
			return total, fmt.Errorf("meter %s: read watermark: %w", m.Source, err)
		}
		m.lagged.Store(from)
		page, err := m.Events.Lookup(ctx, audit.Filter{AllTenants: true, FromSeq: from, OldestFirst: true, Limit: limit})
		if err != nil {
			return total, fmt.Errorf("meter %s: read events from %d: %w", m.Source, from, err)
		}
		if len(page.Events) == 0 {
			return total, nil
		}
		b := &Batch{Source: m.Source, From: from, To: from}
		for i := range page.Events {
			ev := &page.Events[i]
			if ev.Seq != b.To {
				return total, fmt.Errorf("meter %s: event %d read where %d was expected", m.Source, ev.Seq, b.To)
			}
			b.Records = append(b.Records, EventUsage(ev)...)
			b.To = ev.Seq + 1
		}
		b.Records = Merge(b.Records)
		if err := m.Store.Commit(ctx, b); err != nil {
			if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
				return total, err
			}
			return total, fmt.Errorf("meter %s: commit events %d..%d: %w", m.Source, b.From, b.To-1, err)
		}
		n := b.To - b.From
		total += n
		m.events.Add(n)
		m.commits.Add(1)
		m.lagged.Store(b.To)
		if len(page.Events) < limit {
			return total, nil
		}
	}
}

// ErrConflict reports whether err is a watermark conflict.
func ErrConflict(err error) bool {
	var e *tenantml.Error
	return errors.As(err, &e) && e.Code == tenantml.ECONFLICT
}

// InvocationData is the additionalEventData of an invocation's audit
// event that carries its usage (what EventUsage reads back).
func InvocationData(bytesIn, bytesOut int64, model time.Duration) map[string]string {
	return map[string]string{
		DataBytesIn:        strconv.FormatInt(bytesIn, 10),
		DataBytesOut:       strconv.FormatInt(bytesOut, 10),
		DataModelLatencyMs: strconv.FormatInt(model.Milliseconds(), 10),
	}
}
