package metering

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"time"
)

// Gauge reads a level per tenant now: bytes of loaded models, running
// workers, stored bytes. Tenants absent from the map are at zero.
type Gauge func(ctx context.Context) (map[string]int64, error)

// Sampler integrates a Gauge over time into one dimension. Each Sample
// commits level × elapsed time since the watermark (split at hour
// boundaries) and moves the watermark, a time in Unix milliseconds, to
// now.
type Sampler struct {
	Store Store
	// Source names the watermark. A level that only this server knows
	// (its workers, its pool) needs a source per server; a shared one
	// (stored bytes) one source for all, so that servers sampling it
	// together count each interval once.
	Source    string
	Dimension Dimension
	Gauge     Gauge
	// Per is how many stored units one level-unit makes per millisecond:
	// the stored value is level × milliseconds × Per / 1000 (1000 for
	// worker milliseconds, 1 for byte-seconds).
	Per int64
	// MaxGap is the longest interval one sample covers; an older watermark
	// (the server was stopped) moves to now without usage. Default 5
	// minutes.
	MaxGap time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Sample reads the gauge and commits the interval since the watermark.
// It returns ECONFLICT when another sampler of the same source committed
// in between (that interval is then counted by the other).
func (s *Sampler) Sample(ctx context.Context) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	maxGap := s.MaxGap
	if maxGap <= 0 {
		maxGap = 5 * time.Minute
	}
	from, err := s.Store.Watermark(ctx, s.Source)
	if err != nil {
		return fmt.Errorf("sampler %s: read watermark: %w", s.Source, err)
	}
	t1 := now().UTC()
	to := t1.UnixMilli()
	if to <= from {
		return nil
	}
	b := &Batch{Source: s.Source, From: from, To: to}
	if from > 0 && t1.Sub(time.UnixMilli(from)) <= maxGap {
		levels, err := s.Gauge(ctx)
		if err != nil {
			return fmt.Errorf("sampler %s: read gauge: %w", s.Source, err)
		}
		b.Records = s.integrate(levels, time.UnixMilli(from).UTC(), t1)
	}
	if err := s.Store.Commit(ctx, b); err != nil {
		if ErrConflict(err) {
			return err
		}
		return fmt.Errorf("sampler %s: commit: %w", s.Source, err)
	}
	return nil
}

// integrate returns level × time over [t0, t1) per tenant, split at hour
// boundaries.
func (s *Sampler) integrate(levels map[string]int64, t0, t1 time.Time) []Record {
	tenants := make([]string, 0, len(levels))
	for t, v := range levels {
		if v > 0 && t != "" {
			tenants = append(tenants, t)
		}
	}
	sort.Strings(tenants)
	per := s.Per
	if per <= 0 {
		per = 1
	}
	var out []Record
	for start := t0; start.Before(t1); {
		end := Hour(start).Add(time.Hour)
		if end.After(t1) {
			end = t1
		}
		ms := end.Sub(start).Milliseconds()
		for _, t := range tenants {
			// level × ms × per / 1000, exactly (levels × ms can exceed int64).
			v := new(big.Int).Mul(big.NewInt(levels[t]), big.NewInt(ms))
			v.Mul(v, big.NewInt(per)).Quo(v, big.NewInt(1000))
			if v.IsInt64() && v.Int64() > 0 {
				out = append(out, Record{TenantID: t, Hour: Hour(start), Dimension: s.Dimension, Value: v.Int64()})
			}
		}
		start = end
	}
	return out
}
