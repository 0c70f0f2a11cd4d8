package metering_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml/metering"
)

func TestSampler(t *testing.T) {
	type step struct {
		advance time.Duration
		levels  map[string]int64
	}
	tests := []struct {
		name  string
		per   int64
		start time.Time
		steps []step
		// want is each tenant's total, and hours the number of distinct
		// hours records fall in.
		want  map[string]int64
		hours int
	}{
		{
			name:  "FirstSampleOnlySetsTheWatermark",
			start: t0,
			steps: []step{{0, map[string]int64{"acme": 100}}},
			want:  map[string]int64{"acme": 0},
		},
		{
			name:  "LevelTimesSeconds",
			start: t0,
			steps: []step{{0, nil}, {10 * time.Second, map[string]int64{"acme": 100, "globex": 3}}, {5 * time.Second, map[string]int64{"acme": 1}}},
			want:  map[string]int64{"acme": 100*10 + 1*5, "globex": 30},
			hours: 1,
		},
		{
			name:  "WorkerMilliseconds",
			per:   1000,
			start: t0,
			steps: []step{{0, nil}, {1500 * time.Millisecond, map[string]int64{"acme": 2}}},
			want:  map[string]int64{"acme": 3000},
			hours: 1,
		},
		{
			name:  "SplitAtTheHour",
			start: t0.Add(59 * time.Minute),
			steps: []step{{0, nil}, {2 * time.Minute, map[string]int64{"acme": 10}}},
			want:  map[string]int64{"acme": 10 * 120},
			hours: 2,
		},
		{
			name:  "GapAfterDowntimeIsNotCounted",
			start: t0,
			steps: []step{{0, nil}, {time.Minute, map[string]int64{"acme": 1}}, {time.Hour, map[string]int64{"acme": 1}}, {time.Minute, map[string]int64{"acme": 1}}},
			want:  map[string]int64{"acme": 120},
			hours: 2,
		},
		{
			name:  "ZeroAndPlatformLevelsIgnored",
			start: t0,
			steps: []step{{0, nil}, {time.Minute, map[string]int64{"acme": 0, "": 50}}},
			want:  map[string]int64{"acme": 0, "": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: tt.start}
			store := openStore(t)
			var levels map[string]int64
			s := &metering.Sampler{Store: store, Source: "sample/test", Dimension: metering.ModelMemory, Per: tt.per, MaxGap: 5 * time.Minute, Now: clk.Now,
				Gauge: func(context.Context) (map[string]int64, error) { return levels, nil }}
			for _, st := range tt.steps {
				clk.Advance(st.advance)
				levels = st.levels
				if err := s.Sample(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			rs := records(t, store)
			for tenant, want := range tt.want {
				if got := sum(rs, tenant, metering.ModelMemory); got != want {
					t.Errorf("%q: %d, want %d", tenant, got, want)
				}
			}
			hours := map[time.Time]bool{}
			for _, r := range rs {
				hours[r.Hour] = true
			}
			if len(hours) != tt.hours {
				t.Errorf("records in %d hours, want %d: %v", len(hours), tt.hours, rs)
			}
		})
	}
}

// Two servers sampling a shared level (stored bytes) count each interval
// once: the second to commit an interval gets ECONFLICT and nothing.
func TestSampler_SharedSourceCountsOnce(t *testing.T) {
	clk := &clock{t: t0}
	store := openStore(t)
	gauge := func(context.Context) (map[string]int64, error) { return map[string]int64{"acme": 7}, nil }
	a := &metering.Sampler{Store: store, Source: "sample/storage", Dimension: metering.StorageByteHours, Gauge: gauge, Now: clk.Now}
	b := *a
	ctx := context.Background()
	if err := a.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		clk.Advance(10 * time.Second)
		// Both read the watermark, then both commit: b's is refused.
		for _, s := range []*metering.Sampler{a, &b} {
			if err := s.Sample(ctx); err != nil && !metering.ErrConflict(err) {
				t.Fatal(err)
			}
		}
	}
	if got := sum(records(t, store), "acme", metering.StorageByteHours); got != 7*100 {
		t.Errorf("%d byte-seconds, want %d", got, 7*100)
	}
}
