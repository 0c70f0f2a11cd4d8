package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/store"
)

// RunUsage runs the usage records' contract (metering.Store) against the
// stores newStore returns.
func RunUsage(t *testing.T, newStore func(t *testing.T) store.Store) {
	hour := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	rec := func(tenant string, h int, d metering.Dimension, v int64) metering.Record {
		return metering.Record{TenantID: tenant, Hour: hour.Add(time.Duration(h) * time.Hour), Dimension: d, Value: v}
	}
	all := metering.Filter{AllTenants: true, From: hour.Add(-24 * time.Hour), To: hour.Add(24 * time.Hour)}
	tests := []struct {
		name    string
		batches []*metering.Batch
		// code is the error code of the last batch ("" for success).
		code      string
		filter    metering.Filter
		want      []metering.Record
		watermark int64
	}{
		{
			name: "CommitAddsAndMovesWatermark",
			batches: []*metering.Batch{
				{Source: "audit/a", From: 0, To: 10, Records: []metering.Record{rec("acme", 0, metering.Invocations, 3), rec("globex", 0, metering.Invocations, 1)}},
				{Source: "audit/a", From: 10, To: 12, Records: []metering.Record{rec("acme", 0, metering.Invocations, 2), rec("acme", 1, metering.BytesIn, 7)}},
			},
			filter:    all,
			want:      []metering.Record{rec("acme", 0, metering.Invocations, 5), rec("acme", 1, metering.BytesIn, 7), rec("globex", 0, metering.Invocations, 1)},
			watermark: 12,
		},
		{
			name: "ConflictWritesNothing",
			batches: []*metering.Batch{
				{Source: "audit/a", From: 0, To: 10, Records: []metering.Record{rec("acme", 0, metering.Invocations, 3)}},
				{Source: "audit/a", From: 0, To: 10, Records: []metering.Record{rec("acme", 0, metering.Invocations, 3)}},
			},
			code:      tenantml.ECONFLICT,
			filter:    all,
			want:      []metering.Record{rec("acme", 0, metering.Invocations, 3)},
			watermark: 10,
		},
		{
			name:      "FirstBatchMustStartAtZero",
			batches:   []*metering.Batch{{Source: "sample/x", From: 5, To: 10, Records: []metering.Record{rec("acme", 0, metering.Errors, 1)}}},
			code:      tenantml.ECONFLICT,
			filter:    all,
			watermark: 0,
		},
		{
			name: "SourcesAreIndependent",
			batches: []*metering.Batch{
				{Source: "audit/a", From: 0, To: 3, Records: []metering.Record{rec("acme", 0, metering.Invocations, 3)}},
				{Source: "audit/b", From: 0, To: 4, Records: []metering.Record{rec("acme", 0, metering.Invocations, 4)}},
			},
			filter:    all,
			want:      []metering.Record{rec("acme", 0, metering.Invocations, 7)},
			watermark: 4,
		},
		{
			name: "FilterByTenantAndRange",
			batches: []*metering.Batch{{Source: "audit/a", From: 0, To: 1, Records: []metering.Record{
				rec("acme", -1, metering.Invocations, 1), rec("acme", 0, metering.Invocations, 2), rec("acme", 1, metering.Invocations, 4), rec("globex", 0, metering.Invocations, 8),
			}}},
			filter:    metering.Filter{TenantID: "acme", From: hour, To: hour.Add(time.Hour)},
			want:      []metering.Record{rec("acme", 0, metering.Invocations, 2)},
			watermark: 1,
		},
		{
			name:      "TenantOrAllRequired",
			filter:    metering.Filter{From: hour, To: hour.Add(time.Hour)},
			code:      tenantml.EINVALID,
			watermark: 0,
		},
		{
			name:    "RecordWithoutTenantRefused",
			batches: []*metering.Batch{{Source: "audit/a", From: 0, To: 1, Records: []metering.Record{rec("", 0, metering.Invocations, 1)}}},
			code:    tenantml.EINVALID,
			filter:  all,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t).Usage()
			ctx := context.Background()
			var err error
			for _, b := range tt.batches {
				err = s.Commit(ctx, b)
			}
			got, rerr := s.Records(ctx, tt.filter)
			if err == nil {
				err = rerr
			}
			if code := tenantml.ErrorCode(err); code != tt.code {
				t.Fatalf("error %v (code %q), want code %q", err, code, tt.code)
			}
			if rerr != nil {
				return
			}
			if !equalRecords(got, tt.want) {
				t.Errorf("records\n got %v\nwant %v", got, tt.want)
			}
			if len(tt.batches) > 0 {
				w, err := s.Watermark(ctx, tt.batches[len(tt.batches)-1].Source)
				if err != nil || w != tt.watermark {
					t.Errorf("watermark %d, %v; want %d", w, err, tt.watermark)
				}
			}
		})
	}
	t.Run("ConcurrentCommitsApplyOnce", func(t *testing.T) {
		s := newStore(t).Usage()
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, conflicts := 0, 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Commit(ctx, &metering.Batch{Source: "audit/a", From: 0, To: 1, Records: []metering.Record{rec("acme", 0, metering.Invocations, 1)}})
				mu.Lock()
				defer mu.Unlock()
				switch tenantml.ErrorCode(err) {
				case "":
					ok++
				case tenantml.ECONFLICT:
					conflicts++
				default:
					t.Errorf("commit: %v", err)
				}
			}()
		}
		wg.Wait()
		got, err := s.Records(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		if ok != 1 || conflicts != 7 || !equalRecords(got, []metering.Record{rec("acme", 0, metering.Invocations, 1)}) {
			t.Errorf("%d commits, %d conflicts, records %v; want 1, 7 and one invocation", ok, conflicts, got)
		}
	})
}

func equalRecords(a, b []metering.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].TenantID != b[i].TenantID || !a[i].Hour.Equal(b[i].Hour) || a[i].Dimension != b[i].Dimension || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}
