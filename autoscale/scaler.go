package autoscale

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
)

// VariantState is a running variant as the fleet reports it.
type VariantState struct {
	// Tenant owns the endpoint ("" for the platform's).
	Tenant string
	// Instances is the variant's worker count now.
	Instances int
	// Invocations and ModelLatency are cumulative: the invocations the
	// variant answered and the model time they took.
	Invocations  uint64
	ModelLatency time.Duration
	// InFlight is the number of requests in flight now.
	InFlight int64
}

// Fleet is what the scaler reads of running variants and changes.
type Fleet interface {
	// VariantState returns the variant's state; false when the endpoint
	// or variant is not live.
	VariantState(account, endpoint, variant string) (VariantState, bool)
	// SetInstanceCount changes the variant's instance count without
	// dropping a request.
	SetInstanceCount(ctx context.Context, account, endpoint, variant string, n int) error
}

// Event is a scaling activity reported for the audit log.
type Event struct {
	Activity *Activity
}

// Scaler evaluates the target-tracking policies of every registered
// target and applies their decisions.
type Scaler struct {
	Store     Store
	Fleet     Fleet
	AccountID string
	// Window is the span of the figures a decision reads; default one
	// minute.
	Window time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Events receives every activity (for the audit log); optional.
	Events func(Event)
	// Rand generates activity IDs; default crypto/rand.
	Rand io.Reader
	Log  *slog.Logger

	mu      sync.Mutex // serialises Tick
	samples map[string][]sample
	history map[string]*History
}

// sample is a variant's cumulative counters at one time.
type sample struct {
	at          time.Time
	invocations uint64
	latency     time.Duration
}

func (s *Scaler) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Scaler) window() time.Duration {
	if s.Window <= 0 {
		return time.Minute
	}
	return s.Window
}

func (s *Scaler) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Tick evaluates every target once: it samples each live variant, decides
// and applies. It returns the activities it recorded.
func (s *Scaler) Tick(ctx context.Context) ([]*Activity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.samples == nil {
		s.samples, s.history = map[string][]sample{}, map[string]*History{}
	}
	all := Filter{AllTenants: true, AccountID: s.AccountID}
	targets, err := s.Store.Targets(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("read scalable targets: %w", err)
	}
	policies, err := s.Store.Policies(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("read scaling policies: %w", err)
	}
	byTarget := map[ResourceID][]*Policy{}
	for _, p := range policies {
		byTarget[p.ResourceID] = append(byTarget[p.ResourceID], p)
	}
	seen := map[string]bool{}
	var out []*Activity
	var errs []error
	for _, t := range targets {
		k := t.TenantID + "|" + t.ResourceID.String()
		st, ok := s.Fleet.VariantState(s.AccountID, t.ResourceID.Endpoint, t.ResourceID.Variant)
		if !ok || st.Tenant != t.TenantID {
			continue // not live, or a stale target of a reused name
		}
		seen[k] = true
		fig := s.observe(k, st)
		h, err := s.historyOf(ctx, k, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d := Decide(s.now(), t, byTarget[t.ResourceID], fig, *h)
		if !d.Change {
			continue
		}
		a, err := s.apply(ctx, t, st.Instances, d)
		if a != nil {
			out = append(out, a)
			if a.StatusCode == StatusSuccessful {
				if a.To > a.From {
					h.LastScaleOut = a.EndTime
				} else {
					h.LastScaleIn = a.EndTime
				}
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for k := range s.samples {
		if !seen[k] {
			delete(s.samples, k)
			delete(s.history, k)
		}
	}
	return out, errors.Join(errs...)
}

// observe records a sample of the variant and returns the window's
// figures: the increase since the newest sample at least a window old.
func (s *Scaler) observe(k string, st VariantState) Figures {
	now := s.now()
	ss := s.samples[k]
	if n := len(ss); n > 0 && (st.Invocations < ss[n-1].invocations || now.Before(ss[n-1].at)) {
		ss = nil // the counters restarted (a redeployment) or the clock went back
	}
	ss = append(ss, sample{at: now, invocations: st.Invocations, latency: st.ModelLatency})
	cut := now.Add(-s.window())
	base := -1
	for i, x := range ss {
		if !x.at.After(cut) {
			base = i
		}
	}
	fig := Figures{Instances: st.Instances, InFlight: float64(st.InFlight)}
	if base >= 0 {
		ss = ss[base:]
		b, last := ss[0], ss[len(ss)-1]
		if span := last.at.Sub(b.at); span > 0 {
			n := last.invocations - b.invocations
			fig.HasData = true
			fig.InvocationsPerMinute = float64(n) * float64(time.Minute) / float64(span)
			if n > 0 {
				fig.ModelLatencyMicros = float64((last.latency - b.latency).Microseconds()) / float64(n)
			}
		}
	}
	s.samples[k] = ss
	return fig
}

// historyOf returns the target's scaling history, read from its recorded
// activities the first time (a restarted server keeps its cooldowns).
func (s *Scaler) historyOf(ctx context.Context, k string, t *Target) (*History, error) {
	if h, ok := s.history[k]; ok {
		return h, nil
	}
	f := Filter{Tenant: t.TenantID, Platform: t.TenantID == "", AccountID: t.AccountID, ResourceIDs: []ResourceID{t.ResourceID}, Limit: 50}
	as, err := s.Store.Activities(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("read scaling activities: %w", err)
	}
	h := &History{}
	for _, a := range as {
		if a.StatusCode != StatusSuccessful {
			continue
		}
		if a.To > a.From && a.EndTime.After(h.LastScaleOut) {
			h.LastScaleOut = a.EndTime
		}
		if a.To < a.From && a.EndTime.After(h.LastScaleIn) {
			h.LastScaleIn = a.EndTime
		}
	}
	s.history[k] = h
	return h, nil
}

// apply changes the variant's instance count and records the activity.
func (s *Scaler) apply(ctx context.Context, t *Target, from int, d Decision) (*Activity, error) {
	a := &Activity{TenantID: t.TenantID, AccountID: t.AccountID, ID: s.newID(), ResourceID: t.ResourceID, From: from, To: d.Desired,
		Description: fmt.Sprintf("Setting desired instance count to %d.", d.Desired), Cause: d.Cause, StartTime: s.now()}
	err := s.Fleet.SetInstanceCount(ctx, t.AccountID, t.ResourceID.Endpoint, t.ResourceID.Variant, d.Desired)
	a.EndTime = s.now()
	a.StatusCode, a.StatusMessage = StatusSuccessful, fmt.Sprintf("Successfully set desired instance count to %d. Change successfully fulfilled by sagemaker.", d.Desired)
	if err != nil {
		a.StatusCode, a.StatusMessage = StatusFailed, fmt.Sprintf("Failed to set desired instance count to %d: %s", d.Desired, tenantml.ErrorMessage(err))
		s.log().Warn("scaling failed", "tenantId", t.TenantID, "resourceId", t.ResourceID.String(), "desired", d.Desired, "error", err)
	}
	if serr := s.Store.AddActivity(ctx, a); serr != nil {
		return a, errors.Join(err, fmt.Errorf("record scaling activity: %w", serr))
	}
	if s.Events != nil {
		s.Events(Event{Activity: a})
	}
	return a, err
}

func (s *Scaler) newID() string {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fmt.Sprintf("%032x", s.now().UnixNano())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Run ticks every interval until ctx ends; errors are logged.
func (s *Scaler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log().Error("autoscaling tick", "error", err)
			}
		}
	}
}
