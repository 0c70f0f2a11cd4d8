package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// Alert is one fired alert, as delivered to the webhook.
type Alert struct {
	ID        string    `json:"alertId"`
	Rule      string    `json:"rule"`
	Kind      Kind      `json:"kind"`
	TenantID  string    `json:"tenantId,omitempty"`
	Principal string    `json:"principal,omitempty"`
	Count     int       `json:"count"`
	Window    string    `json:"window"`
	FiredAt   time.Time `json:"firedAt"`
	Message   string    `json:"message"`
	// EventSeq is the audit seq of the event that fired the alert, or -1.
	// It goes only to the webhook (the operator's): the event recorded in
	// the log names the firing event by EventID, because a tenant may read
	// its alerts and must not learn global positions.
	EventSeq int64 `json:"eventSeq"`
	// EventID is the ID of the event that fired the alert, if any.
	EventID string `json:"eventId,omitempty"`
}

// Recorder appends events to the audit log; *audit.Log implements it.
type Recorder interface {
	Append(ctx context.Context, ev audit.Event) (audit.Receipt, error)
}

// Config configures an Engine.
type Config struct {
	// Rules to evaluate; see DefaultRules.
	Rules []Rule
	// WebhookURL receives alerts; empty records alerts without delivery.
	WebhookURL string
	// Secret keys the HMAC-SHA256 signature; required with WebhookURL.
	Secret []byte
	// Client sends webhooks; default a client with a 10s timeout.
	Client *http.Client
	// Now is the clock for windows and timestamps; default time.Now.
	Now func() time.Time
	// After waits between delivery attempts; default time.After.
	After func(time.Duration) <-chan time.Time
	// Rand supplies alert IDs; default crypto/rand.Reader.
	Rand io.Reader
	// QueueSize bounds alerts waiting for delivery; default 1024.
	QueueSize int
	// MaxAttempts bounds deliveries of one alert; default 6.
	MaxAttempts int
	// BaseBackoff is the first retry delay, doubled each time up to
	// MaxBackoff; defaults 1s and 1m.
	BaseBackoff, MaxBackoff time.Duration
	// Logger receives delivery failures; default slog.Default().
	Logger *slog.Logger
}

// Stats counts the engine's work, for metrics.
type Stats struct {
	Fired, Delivered, DeliveryFailures, Dropped, Recorded, RecordFailures uint64
}

// Engine evaluates rules on audit events and delivers alerts. It
// implements audit.Observer.
type Engine struct {
	cfg      Config
	rules    []Rule
	recorder atomic.Pointer[Recorder]

	mu       sync.Mutex
	windows  map[string]*window
	observed int

	queue     chan item
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	fired, delivered, deliveryFailures, dropped, recorded, recordFailures atomic.Uint64
}

// item is a queued alert, or a flush marker.
type item struct {
	alert *Alert
	flush chan struct{}
}

var _ audit.Observer = (*Engine)(nil)

// New validates cfg and starts the engine's delivery goroutine.
func New(cfg Config) (*Engine, error) {
	if cfg.WebhookURL != "" && len(cfg.Secret) == 0 {
		return nil, errors.New("alert: a webhook needs a signing secret")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{
		cfg:     cfg,
		windows: map[string]*window{},
		queue:   make(chan item, cfg.QueueSize),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	names := map[string]bool{}
	for _, r := range cfg.Rules {
		if err := r.setDefaults(); err != nil {
			return nil, err
		}
		if names[r.Name] {
			return nil, fmt.Errorf("alert rule %s: duplicate name", r.Name)
		}
		names[r.Name] = true
		e.rules = append(e.rules, r)
	}
	go e.run()
	return e, nil
}

// SetRecorder sets where fired alerts are recorded, normally the audit log
// the engine observes (which is opened after the engine).
func (e *Engine) SetRecorder(r Recorder) { e.recorder.Store(&r) }

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	return Stats{e.fired.Load(), e.delivered.Load(), e.deliveryFailures.Load(), e.dropped.Load(), e.recorded.Load(), e.recordFailures.Load()}
}

// ObserveEvent evaluates the rules on an appended event.
func (e *Engine) ObserveEvent(ev audit.Event) {
	if ev.EventType == audit.TypeAlert {
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	var fire []*Alert
	for i := range e.rules {
		r := &e.rules[i]
		if r.Kind == AuditWriteFailure || !r.matches(&ev) {
			continue
		}
		g := r.group(&ev)
		if n, ok := e.window(r, g).observe(r, now); ok {
			a := e.newAlert(r, now, n, ev.Seq)
			a.EventID = ev.EventID
			// An alert belongs to a tenant only when every event that
			// counted did; platform-wide windows may mix tenants.
			switch {
			case r.TenantID != "":
				a.TenantID = r.TenantID
			case r.GroupBy == GroupTenant:
				a.TenantID = ev.TenantID
			}
			if r.GroupBy == GroupPrincipal {
				a.Principal = g
			}
			a.Message = message(r, a)
			fire = append(fire, a)
		}
	}
	e.sweep(now)
	e.mu.Unlock()
	for _, a := range fire {
		e.enqueue(a)
	}
}

// ObserveFailure fires the audit-write-failure rules.
func (e *Engine) ObserveFailure(err error) {
	now := e.cfg.Now()
	e.mu.Lock()
	var fire []*Alert
	for i := range e.rules {
		r := &e.rules[i]
		if r.Kind != AuditWriteFailure {
			continue
		}
		if n, ok := e.window(r, "").observe(r, now); ok {
			a := e.newAlert(r, now, n, -1)
			a.Message = "audit log cannot be written; requests are failing closed: " + err.Error()
			fire = append(fire, a)
		}
	}
	e.mu.Unlock()
	for _, a := range fire {
		e.enqueue(a)
	}
}

func (e *Engine) window(r *Rule, group string) *window {
	key := r.Name + "\x00" + group
	w := e.windows[key]
	if w == nil {
		w = &window{}
		e.windows[key] = w
	}
	return w
}

// sweep drops idle windows now and then so that memory stays bounded by
// the active principals.
func (e *Engine) sweep(now time.Time) {
	e.observed++
	if e.observed%1024 != 0 {
		return
	}
	for k, w := range e.windows {
		if now.After(w.quietTill) && (len(w.times) == 0 || now.Sub(w.times[len(w.times)-1]) > time.Hour) {
			delete(e.windows, k)
		}
	}
}

func (e *Engine) newAlert(r *Rule, now time.Time, n int, seq int64) *Alert {
	var b [16]byte
	_, _ = io.ReadFull(e.cfg.Rand, b[:])
	return &Alert{ID: hex.EncodeToString(b[:]), Rule: r.Name, Kind: r.Kind, Count: n, Window: r.Window.String(), FiredAt: now.UTC(), EventSeq: seq}
}

func message(r *Rule, a *Alert) string {
	switch r.Kind {
	case DeniedRequests:
		return fmt.Sprintf("%d denied requests by one principal within %s", a.Count, r.Window)
	case CrossTenantAttempts:
		return fmt.Sprintf("%d cross-tenant attempts within %s", a.Count, r.Window)
	case SuspendedTenantAccess:
		return "request to a suspended tenant"
	case KeyDeletionScheduled:
		return "deletion of a tenant key was scheduled"
	}
	return string(r.Kind)
}

func (e *Engine) enqueue(a *Alert) {
	e.fired.Add(1)
	select {
	case e.queue <- item{alert: a}:
	default:
		e.dropped.Add(1)
		e.cfg.Logger.Warn("alert: queue full, alert dropped", "rule", a.Rule, "kind", a.Kind)
	}
}

// Flush waits until every alert queued before the call was recorded and
// delivered (or given up).
func (e *Engine) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	select {
	case e.queue <- item{flush: ch}:
	case <-e.done:
		return errors.New("alert: engine closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the delivery goroutine; queued alerts not yet delivered are
// abandoned when ctx ends first.
func (e *Engine) Close(ctx context.Context) error {
	e.closeOnce.Do(func() { close(e.quit) })
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) run() {
	defer close(e.done)
	var pending []*Alert // alerts not yet recorded in the log
	for {
		var retry <-chan time.Time
		if len(pending) > 0 {
			retry = e.cfg.After(e.cfg.BaseBackoff)
		}
		select {
		case it := <-e.queue:
			if it.flush != nil {
				pending = e.record(pending)
				close(it.flush)
				continue
			}
			pending = e.record(append(pending, it.alert))
			e.deliver(it.alert)
		case <-retry:
			pending = e.record(pending)
		case <-e.quit:
			return
		}
	}
}

// record appends the alerts to the audit log, returning those that failed.
func (e *Engine) record(alerts []*Alert) []*Alert {
	rp := e.recorder.Load()
	if rp == nil {
		return nil
	}
	for i, a := range alerts {
		if _, err := (*rp).Append(context.Background(), alertEvent(a)); err != nil {
			e.recordFailures.Add(1)
			return alerts[i:]
		}
		e.recorded.Add(1)
	}
	return nil
}

func alertEvent(a *Alert) audit.Event {
	return audit.Event{
		EventTime:   a.FiredAt,
		EventType:   audit.TypeAlert,
		EventSource: "tenantml.alert",
		EventName:   "AlertFired",
		TenantID:    a.TenantID,
		// The principal goes in userIdentity so that it is sealed under
		// the tenant's key like every personal field.
		UserIdentity: audit.UserIdentity{ARN: a.Principal},
		AdditionalEventData: map[string]string{
			"alertId": a.ID,
			"rule":    a.Rule,
			"kind":    string(a.Kind),
			"count":   strconv.Itoa(a.Count),
			"window":  a.Window,
			"eventId": a.EventID,
			"message": a.Message,
		},
	}
}

// Raise fires an alert found by a detector outside the rules (a tenant's
// anomalous rate): a.Rule, a.Kind and a.Message say what; a.TenantID, when
// set, records it under that tenant (readable by it and the operator).
// The engine fills the ID, the time and EventSeq, then records and
// delivers it like the rules' alerts. It never blocks.
func (e *Engine) Raise(a Alert) {
	b := e.newAlert(&Rule{Name: a.Rule, Kind: a.Kind}, e.cfg.Now(), a.Count, -1)
	b.TenantID, b.Window, b.Message = a.TenantID, a.Window, a.Message
	e.enqueue(b)
}
