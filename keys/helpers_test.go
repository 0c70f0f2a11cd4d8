package keys_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *keys.Service
	store *keystest.MemStore
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: keystest.NewMemStore(), clock: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	f.svc, err = keys.New(keys.Config{Store: f.store, KEK: kek, Region: "eu-west-1", Account: "111122223333", Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) key(t testing.TB, tenant string) keys.KeyMetadata {
	t.Helper()
	m, err := f.svc.CreateKey(context.Background(), tenant, keys.CreateKeyInput{Description: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantExc(t testing.TB, err error, want keys.Exception) {
	t.Helper()
	if got := keys.ExceptionOf(err); got != want {
		t.Fatalf("err = %v (%s), want %s", err, got, want)
	}
}

// notFoundShape returns the error's code, exception and message with the
// named identifier removed, to compare "missing" with "other tenant's".
func notFoundShape(err error, ident string) string {
	return tenantml.ErrorCode(err) + "|" + string(keys.ExceptionOf(err)) + "|" + strings.ReplaceAll(tenantml.ErrorMessage(err), ident, "ID")
}
