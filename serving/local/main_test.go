package local_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
)

// binary is the tenantml binary TestMain builds: the sandbox helper and the
// native worker of every supervisor under test. public is a directory
// every worker user can read, for it and the test model servers.
var binary, public string

// models are the xgboost-trained test models, trained on first use.
var models servingtest.XGBoost

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := servingtest.PublicDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	defer models.Close()
	public = dir
	if binary, err = servingtest.BuildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// recorder collects events and lets a test wait for one.
type recorder struct {
	mu     sync.Mutex
	events []serving.Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) Publish(e serving.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) all() []serving.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]serving.Event(nil), r.events...)
}

// wait returns the first event matching pred, waiting up to d for it.
func (r *recorder) wait(t *testing.T, d time.Duration, what string, pred func(serving.Event) bool) serving.Event {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		for _, e := range r.all() {
			if pred(e) {
				return e
			}
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("no %s event within %s; events: %v", what, d, summarize(r.all()))
		}
	}
}

func summarize(es []serving.Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "\n  %s %s pid=%d %s", e.Kind, e.Instance, e.PID, e.Reason)
	}
	return b.String()
}

// logBuffer captures the supervisor's logs (workers' output included).
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newSupervisor opens a supervisor with fast health checks, closed at the
// end of the test.
func newSupervisor(t *testing.T, cfg local.Config) (*local.Supervisor, *recorder, *logBuffer) {
	t.Helper()
	rec := newRecorder()
	logs := &logBuffer{}
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

// fileOpener opens a file as a model's plaintext.
func fileOpener(path string) serving.Opener {
	return serving.OpenerFunc(func(context.Context) (io.ReadCloser, error) { return os.Open(path) })
}

func startCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustStart(t *testing.T, s *local.Supervisor, spec serving.VariantSpec) serving.Variant {
	t.Helper()
	v, err := s.Start(startCtx(t), spec)
	if err != nil {
		t.Fatalf("Start %s: %v", spec.ID(), err)
	}
	return v
}

func readFile(t *testing.T, dir, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
