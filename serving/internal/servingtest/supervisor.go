package servingtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/local"
)

// Recorder collects events and lets a test wait for one.
type Recorder struct {
	mu     sync.Mutex
	events []serving.Event
	notify chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{notify: make(chan struct{}, 1)} }

// Publish implements serving.Events.
func (r *Recorder) Publish(e serving.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// All returns the events so far.
func (r *Recorder) All() []serving.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]serving.Event(nil), r.events...)
}

// Count returns how many events match pred.
func (r *Recorder) Count(pred func(serving.Event) bool) int {
	n := 0
	for _, e := range r.All() {
		if pred(e) {
			n++
		}
	}
	return n
}

// Wait returns the first event matching pred, waiting up to d for it.
func (r *Recorder) Wait(t testing.TB, d time.Duration, what string, pred func(serving.Event) bool) serving.Event {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		for _, e := range r.All() {
			if pred(e) {
				return e
			}
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("no %s event within %s; events: %s", what, d, Summarize(r.All()))
		}
	}
}

// Summarize formats events for a failure message.
func Summarize(es []serving.Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "\n  %s %s pid=%d tenant=%s model=%s %s", e.Kind, e.Instance, e.PID, e.Tenant, e.Model, e.Reason)
	}
	return b.String()
}

// LogBuffer captures logs safely from many goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NewSupervisor opens a supervisor running binary with fast health checks
// (unless cfg sets them), closed at the end of the test; its logs are
// printed when the test fails.
func NewSupervisor(t testing.TB, binary string, cfg local.Config) (*local.Supervisor, *Recorder, *LogBuffer) {
	t.Helper()
	rec := NewRecorder()
	logs := &LogBuffer{}
	cfg.Executable = binary
	if cfg.Events == nil {
		cfg.Events = rec
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 100 * time.Millisecond
	}
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = 500 * time.Millisecond
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 50 * time.Millisecond
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 3 * time.Second
	}
	s := local.New(cfg)
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("supervisor logs:\n%s", logs.String())
		}
	})
	return s, rec, logs
}

// FileOpener opens a file as a model's plaintext.
func FileOpener(path string) serving.Opener {
	return serving.OpenerFunc(func(context.Context) (io.ReadCloser, error) { return os.Open(path) })
}

// Start starts spec on s within a minute, failing the test on error.
func Start(t testing.TB, s *local.Supervisor, spec serving.VariantSpec) serving.Variant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, err := s.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start %s: %v", spec.ID(), err)
	}
	return v
}

// Env is what a test binary of real workers shares: a directory every
// worker user can read, the tenantml binary built into it, and the
// xgboost-trained models.
type Env struct {
	Public string
	Binary string
	Models XGBoost
}

// Main builds the binary into a fresh public directory, runs the tests,
// removes everything and exits; for TestMain.
func Main(m *testing.M, env *Env) {
	dir, err := PublicDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env.Public = dir
	if env.Binary, err = BuildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	env.Models.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Clock is a manual clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at 2026-01-01T00:00:00Z.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
