package pool_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/serving/pool"
)

var env servingtest.Env

func TestMain(m *testing.M) { servingtest.Main(m, &env) }

// source is a counting opener of a file, optionally held at a gate.
type source struct {
	path   string
	opens  atomic.Int64
	gate   chan struct{} // when set, Open waits for it
	opened chan struct{} // receives a value on every Open (buffered)
}

func newSource(path string) *source { return &source{path: path, opened: make(chan struct{}, 64)} }

func (s *source) Open(ctx context.Context) (io.ReadCloser, error) {
	s.opens.Add(1)
	select {
	case s.opened <- struct{}{}:
	default:
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return os.Open(s.path)
}

// metrics records the pool's figures.
type metrics struct {
	mu                                     sync.Mutex
	hits, misses                           int
	waits, downloads, loadings, unloadings []time.Duration
	count                                  int
}

func (m *metrics) ModelLoadingWaitTime(d time.Duration) { m.add(&m.waits, d) }
func (m *metrics) ModelDownloadingTime(d time.Duration) { m.add(&m.downloads, d) }
func (m *metrics) ModelLoadingTime(d time.Duration)     { m.add(&m.loadings, d) }
func (m *metrics) ModelUnloadingTime(d time.Duration)   { m.add(&m.unloadings, d) }
func (m *metrics) add(s *[]time.Duration, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	*s = append(*s, d)
}
func (m *metrics) ModelCacheHit(hit bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if hit {
		m.hits++
	} else {
		m.misses++
	}
}
func (m *metrics) LoadedModelCount(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count = n
}

// fixture is a supervisor with a started pool variant and a pool over it.
type fixture struct {
	s       *local.Supervisor
	rec     *servingtest.Recorder
	variant serving.Variant
	pool    *pool.Pool
	metrics *metrics
}

func newFixture(t testing.TB, instances int, scfg local.Config, image string, pcfg pool.Config) *fixture {
	t.Helper()
	f := &fixture{metrics: &metrics{}}
	f.s, f.rec, _ = servingtest.NewSupervisor(t, env.Binary, scfg)
	f.variant = servingtest.Start(t, f.s, serving.VariantSpec{
		Endpoint: "pool", Variant: "AllTraffic", Mode: serving.ModeMulti, Image: image,
		InstanceType: "ml.m5.large", InstanceCount: instances,
	})
	pcfg.Variant = f.variant
	pcfg.Metrics = f.metrics
	pcfg.Events = f.rec
	f.pool = pool.New(pcfg)
	if err := f.pool.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.pool.Close(context.Background()) })
	return f
}

func readFile(t *testing.T, dir, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invokeCSV invokes target with a case's CSV rows and checks the answer
// against xgboost's predictions.
func invokeCSV(t testing.TB, p *pool.Pool, target pool.Target, dir string, c servingtest.XGBCase) error {
	body, err := os.ReadFile(filepath.Join(dir, c.RowsCSV))
	if err != nil {
		return err
	}
	resp, err := p.Invoke(context.Background(), target, serving.Invocation{ContentType: "text/csv", Body: body})
	if err != nil {
		return err
	}
	got, err := servingtest.ParseCSV(resp.Body)
	if err != nil {
		return err
	}
	return servingtest.Compare(got, c.Predictions)
}
