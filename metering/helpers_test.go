package metering_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/store/sqlite"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// t0 is 10:00 UTC on a day; tests' clocks start there.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// openStore opens a real SQLite store's usage records.
func openStore(t *testing.T) metering.Store { return openStoreB(t) }

func openStoreB(t testing.TB) metering.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Usage()
}

// openLog opens a real audit log on clk; its ticker never fires.
func openLog(t *testing.T, clk *clock) *audit.Log { return openLogB(t, clk) }

func openLogB(t testing.TB, clk *clock) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), audit.Config{Dir: t.TempDir(), Now: clk.Now, Tick: make(chan time.Time), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// invoke is an allowed InvokeEndpoint event of tenant.
func invoke(tenant string, at time.Time, errCode string, in, out, ms int64) audit.Event {
	return audit.Event{EventTime: at, EventType: audit.TypeAPICall, EventSource: "sagemaker.amazonaws.com", EventName: metering.InvokeEventName,
		TenantID: tenant, Decision: audit.Decision{Effect: audit.Allowed}, ErrorCode: errCode,
		AdditionalEventData: metering.InvocationData(in, out, time.Duration(ms)*time.Millisecond)}
}

// failingStore fails Commit (after committing, when after is set) every
// time fail returns true: a crash before or after the transaction.
type failingStore struct {
	metering.Store
	fail  func() bool
	after bool
}

var errCrash = errors.New("crash")

func (s *failingStore) Commit(ctx context.Context, b *metering.Batch) error {
	if s.fail() {
		if s.after {
			if err := s.Store.Commit(ctx, b); err != nil {
				return err
			}
		}
		return errCrash
	}
	return s.Store.Commit(ctx, b)
}

// sum adds up the records of tenant in dimension d.
func sum(rs []metering.Record, tenant string, d metering.Dimension) int64 {
	var n int64
	for _, r := range rs {
		if r.TenantID == tenant && r.Dimension == d {
			n += r.Value
		}
	}
	return n
}

func records(t *testing.T, s metering.Store) []metering.Record {
	t.Helper()
	rs, err := s.Records(context.Background(), metering.Filter{AllTenants: true, From: t0.Add(-48 * time.Hour), To: t0.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
