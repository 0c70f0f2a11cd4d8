package metering

import (
	"context"
	"sort"
	"time"

	"github.com/tenantml/tenantml"
)

// Dimension names one metered quantity.
type Dimension string

// The dimensions. Their stored units and reported units are in Dimensions.
const (
	// Invocations counts InvokeEndpoint requests the policies allowed.
	Invocations Dimension = "invocations"
	// Errors counts those of them answered with an error (model errors,
	// throttling, unavailable workers).
	Errors Dimension = "errors"
	// BytesIn counts request payload bytes of invocations.
	BytesIn Dimension = "bytes_in"
	// BytesOut counts response payload bytes of invocations.
	BytesOut Dimension = "bytes_out"
	// ModelComputeMs is the time workers spent answering invocations.
	ModelComputeMs Dimension = "model_compute_ms"
	// ModelMemory is the pool memory a tenant's loaded models held, over
	// time (pool tenants).
	ModelMemory Dimension = "model_memory_byte_seconds"
	// WorkerSeconds is the time a tenant's dedicated workers ran (silo and
	// bridge tenants).
	WorkerSeconds Dimension = "worker_seconds"
	// StorageByteHours is the bytes a tenant stored, over time.
	StorageByteHours Dimension = "storage_byte_hours"
)

// DimensionInfo describes a dimension: its reported unit and how stored
// values convert to it.
type DimensionInfo struct {
	Name Dimension
	// Unit is the reported unit.
	Unit string
	// Scale is how many stored units make one reported unit: stored
	// integers are exact, reports divide by Scale.
	Scale int64
	// Decimals is how many decimals a reported quantity keeps.
	Decimals int
	// Sampled reports a dimension measured by sampling a level over time.
	Sampled bool
	// Description says what is counted.
	Description string
}

// Dimensions lists every dimension, in report order.
func Dimensions() []DimensionInfo {
	return []DimensionInfo{
		{Name: Invocations, Unit: "requests", Scale: 1, Description: "InvokeEndpoint requests allowed by the policies"},
		{Name: Errors, Unit: "requests", Scale: 1, Description: "invocations answered with an error"},
		{Name: BytesIn, Unit: "bytes", Scale: 1, Description: "request payload bytes"},
		{Name: BytesOut, Unit: "bytes", Scale: 1, Description: "response payload bytes"},
		{Name: ModelComputeMs, Unit: "milliseconds", Scale: 1, Description: "time the model's workers spent on invocations"},
		{Name: ModelMemory, Unit: "byte-seconds", Scale: 1, Sampled: true, Description: "pool memory held by the tenant's loaded models"},
		{Name: WorkerSeconds, Unit: "seconds", Scale: 1000, Decimals: 3, Sampled: true, Description: "running time of the tenant's dedicated workers (stored in milliseconds)"},
		{Name: StorageByteHours, Unit: "byte-hours", Scale: 3600, Decimals: 3, Sampled: true, Description: "bytes stored, over time (stored in byte-seconds)"},
	}
}

// Info returns the description of d, false for an unknown dimension.
func Info(d Dimension) (DimensionInfo, bool) {
	for _, i := range Dimensions() {
		if i.Name == d {
			return i, true
		}
	}
	return DimensionInfo{}, false
}

// dimOrder is d's position in Dimensions (unknown ones last).
func dimOrder(d Dimension) int {
	ds := Dimensions()
	for i, x := range ds {
		if x.Name == d {
			return i
		}
	}
	return len(ds)
}

// Record is the usage of one tenant in one hour in one dimension.
type Record struct {
	TenantID string `json:"tenantId"`
	// Hour is the start of the hour, UTC.
	Hour      time.Time `json:"hour"`
	Dimension Dimension `json:"dimension"`
	// Value is in the dimension's stored unit.
	Value int64 `json:"value"`
}

// Hour truncates t to the start of its hour, UTC.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// Batch is usage to add, with the watermark move of its source.
type Batch struct {
	// Source names the watermark: "audit/<log>" for a Meter,
	// "sample/<dimension>[/<node>]" for a Sampler.
	Source string
	// From is the watermark the batch continues from, To where it leaves
	// it (an audit seq, or a time in Unix milliseconds).
	From, To int64
	// Records are added to the stored ones (same tenant, hour, dimension).
	Records []Record
}

// Filter selects records. TenantID is required unless AllTenants is set:
// a missing tenant never silently means every tenant.
type Filter struct {
	TenantID   string
	AllTenants bool
	// From and To bound the hours: From <= Hour < To.
	From, To time.Time
}

// Validate checks the filter's scope and range.
func (f Filter) Validate() error {
	switch {
	case f.TenantID == "" && !f.AllTenants:
		return tenantml.Errorf(tenantml.EINVALID, "a usage query names a tenant or all tenants")
	case f.TenantID != "" && f.AllTenants:
		return tenantml.Errorf(tenantml.EINVALID, "a usage query names a tenant or all tenants, not both")
	case f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To):
		return tenantml.Errorf(tenantml.EINVALID, "a usage query needs from before to")
	}
	return nil
}

// Store keeps usage records and the watermarks of their sources.
type Store interface {
	// Commit adds b.Records to the stored records and moves b.Source's
	// watermark from b.From to b.To, in one transaction. When the stored
	// watermark is not b.From (an absent one is 0), nothing is written and
	// the error is ECONFLICT.
	Commit(ctx context.Context, b *Batch) error
	// Watermark returns the source's watermark, 0 when it has none.
	Watermark(ctx context.Context, source string) (int64, error)
	// Records returns the records f selects, ordered by tenant, hour and
	// dimension name.
	Records(ctx context.Context, f Filter) ([]Record, error)
}

// Merge adds up records of the same tenant, hour and dimension and drops
// zeros, in a stable order (tenant, hour, dimension order).
func Merge(rs []Record) []Record {
	type k struct {
		t string
		h int64
		d Dimension
	}
	sum := map[k]int64{}
	var keys []k
	for _, r := range rs {
		key := k{r.TenantID, r.Hour.Unix(), r.Dimension}
		if _, ok := sum[key]; !ok {
			keys = append(keys, key)
		}
		sum[key] += r.Value
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.t != b.t {
			return a.t < b.t
		}
		if a.h != b.h {
			return a.h < b.h
		}
		return dimOrder(a.d) < dimOrder(b.d)
	})
	out := make([]Record, 0, len(keys))
	for _, key := range keys {
		if v := sum[key]; v != 0 {
			out = append(out, Record{TenantID: key.t, Hour: time.Unix(key.h, 0).UTC(), Dimension: key.d, Value: v})
		}
	}
	return out
}

func errInvalid(format string, args ...any) error {
	return tenantml.Errorf(tenantml.EINVALID, format, args...)
}
