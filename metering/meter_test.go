package metering_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/metering"
)

func TestEventUsage(t *testing.T) {
	at := t0.Add(90 * time.Minute)
	h := metering.Hour(at)
	r := func(d metering.Dimension, v int64) metering.Record {
		return metering.Record{TenantID: "acme", Hour: h, Dimension: d, Value: v}
	}
	denied := invoke("acme", at, "AccessDeniedException", 5, 0, 0)
	denied.Decision.Effect = audit.ImplicitlyDenied
	platform := invoke("", at, "", 5, 5, 5)
	other := invoke("acme", at, "", 5, 5, 5)
	other.EventName = "DescribeEndpoint"
	service := invoke("acme", at, "", 5, 5, 5)
	service.EventType = audit.TypeServiceEvent
	tests := []struct {
		name string
		ev   audit.Event
		want []metering.Record
	}{
		{"Success", invoke("acme", at, "", 100, 20, 3), []metering.Record{r(metering.Invocations, 1), r(metering.BytesIn, 100), r(metering.BytesOut, 20), r(metering.ModelComputeMs, 3)}},
		{"ModelError", invoke("acme", at, "ModelError", 100, 0, 2), []metering.Record{r(metering.Invocations, 1), r(metering.Errors, 1), r(metering.BytesIn, 100), r(metering.ModelComputeMs, 2)}},
		{"NoData", audit.Event{EventTime: at, EventType: audit.TypeAPICall, EventName: "InvokeEndpoint", TenantID: "acme", Decision: audit.Decision{Effect: audit.Allowed}}, []metering.Record{r(metering.Invocations, 1)}},
		{"Denied", denied, nil},
		{"Platform", platform, nil},
		{"OtherAction", other, nil},
		{"ServiceEvent", service, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metering.EventUsage(&tt.ev)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("record %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// The meter counts every durable invocation exactly once, whatever fails
// around its transactions: a crash before a commit (nothing written, the
// events are metered again) and after it (written, the next run starts
// after them).
func TestMeter_ExactlyOnce(t *testing.T) {
	tests := []struct {
		name  string
		after bool
		every int // fail every n-th commit
	}{
		{"NoFailures", false, 0},
		{"CrashBeforeCommit", false, 2},
		{"CrashAfterCommit", true, 2},
		{"CrashAfterEveryCommit", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: t0}
			log := openLog(t, clk)
			ctx := context.Background()
			// 250 events over three hours: acme invokes (every 5th an
			// error), globex invokes, and noise that is not usage.
			var acme, acmeErr, globex int64
			for i := range 250 {
				var ev audit.Event
				switch i % 3 {
				case 0:
					code := ""
					if i%5 == 0 {
						code, acmeErr = "ModelError", acmeErr+1
					}
					ev, acme = invoke("acme", clk.Now(), code, 10, 2, 1), acme+1
				case 1:
					ev, globex = invoke("globex", clk.Now(), "", 7, 1, 4), globex+1
				default:
					ev = audit.Event{EventType: audit.TypeAPICall, EventSource: "iam.amazonaws.com", EventName: "GetUser", TenantID: "acme", Decision: audit.Decision{Effect: audit.Allowed}}
				}
				if _, err := log.Append(ctx, ev); err != nil {
					t.Fatal(err)
				}
				clk.Advance(43 * time.Second)
			}
			store := openStore(t)
			n := 0
			fs := &failingStore{Store: store, after: tt.after, fail: func() bool { n++; return tt.every > 0 && n%tt.every == 0 }}
			m := &metering.Meter{Store: fs, Events: log, Source: "audit/test", BatchSize: 16}
			for range 100 {
				if _, err := m.Sync(ctx); err == nil {
					break
				} else if !errors.Is(err, errCrash) {
					t.Fatal(err)
				}
				m = &metering.Meter{Store: fs, Events: log, Source: "audit/test", BatchSize: 16} // a restarted server
			}
			rs := records(t, store)
			for _, c := range []struct {
				tenant string
				d      metering.Dimension
				want   int64
			}{
				{"acme", metering.Invocations, acme}, {"acme", metering.Errors, acmeErr}, {"acme", metering.BytesIn, 10 * acme},
				{"acme", metering.BytesOut, 2 * acme}, {"acme", metering.ModelComputeMs, acme},
				{"globex", metering.Invocations, globex}, {"globex", metering.ModelComputeMs, 4 * globex}, {"globex", metering.Errors, 0},
			} {
				if got := sum(rs, c.tenant, c.d); got != c.want {
					t.Errorf("%s %s = %d, want %d", c.tenant, c.d, got, c.want)
				}
			}
			if w, _ := store.Watermark(ctx, "audit/test"); w != 250 {
				t.Errorf("watermark %d, want 250", w)
			}
			if hours := map[time.Time]bool{}; true {
				for _, r := range rs {
					hours[r.Hour] = true
				}
				if len(hours) != 3 {
					t.Errorf("records in %d hours, want 3 (250 events 43 s apart from 10:00)", len(hours))
				}
			}
		})
	}
}

// Sync meters nothing twice when called again, and picks up what was
// appended since.
func TestMeter_Incremental(t *testing.T) {
	clk := &clock{t: t0}
	log := openLog(t, clk)
	store := openStore(t)
	ctx := context.Background()
	m := &metering.Meter{Store: store, Events: log, Source: "audit/test"}
	steps := []struct {
		append int
		want   int64
	}{{3, 3}, {0, 3}, {5, 8}, {0, 8}}
	for i, s := range steps {
		for range s.append {
			if _, err := log.Append(ctx, invoke("acme", clk.Now(), "", 1, 1, 1)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := m.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := sum(records(t, store), "acme", metering.Invocations); got != s.want {
			t.Errorf("step %d: %d invocations, want %d", i, got, s.want)
		}
	}
	if st := m.Stats(); st.Events != 8 || st.Watermark != 8 {
		t.Errorf("stats %+v, want 8 events metered up to 8", st)
	}
}
