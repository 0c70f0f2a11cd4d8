package audit_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testLog is an open log with a fake clock and a manual ticker.
type testLog struct {
	*audit.Log
	dir   string
	clock *fakeClock
	tick  chan time.Time
}

func openTestLog(tb testing.TB, dir string, mod func(*audit.Config)) *testLog {
	tb.Helper()
	tl := &testLog{dir: dir, clock: newFakeClock(), tick: make(chan time.Time)}
	cfg := audit.Config{Dir: dir, Now: tl.clock.Now, Tick: tl.tick, Origin: "tenantml.audit/test", Logger: discardLogger()}
	if mod != nil {
		mod(&cfg)
	}
	if cfg.Now == nil {
		cfg.Now = tl.clock.Now
	}
	l, err := audit.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tl.Log = l
	return tl
}

func (tl *testLog) close(tb testing.TB) {
	tb.Helper()
	if err := tl.Close(context.Background()); err != nil && !errors.Is(err, audit.ErrClosed) {
		tb.Fatalf("Close: %v", err)
	}
}

// tickAndSync delivers one tick and waits until the writer handled it.
func (tl *testLog) tickAndSync(tb testing.TB) {
	tb.Helper()
	tl.tick <- tl.clock.Now()
	if err := tl.Sync(context.Background()); err != nil {
		tb.Fatalf("Sync: %v", err)
	}
}

func event(tenant, principal, action string, effect audit.Effect) audit.Event {
	return audit.Event{
		TenantID:           tenant,
		RecipientAccountID: "111122223333",
		UserIdentity: audit.UserIdentity{
			Type:        "AssumedRole",
			PrincipalID: "AROAEXAMPLE:" + principal,
			ARN:         "arn:aws:sts::111122223333:assumed-role/" + tenant + "-invoke/" + principal,
			AccountID:   "111122223333",
			SessionName: principal,
		},
		SourceIPAddress: "192.0.2.10",
		UserAgent:       "aws-cli/2.9.19",
		EventSource:     "sagemaker.amazonaws.com",
		EventName:       action,
		Resources:       []audit.Resource{{ARN: "arn:aws:sagemaker:us-east-1:111122223333:endpoint/" + tenant, Type: "AWS::SageMaker::Endpoint"}},
		Decision:        audit.Decision{Effect: effect},
		LatencyMs:       3,
	}
}

func mustAppend(tb testing.TB, l *audit.Log, ev audit.Event) audit.Receipt {
	tb.Helper()
	r, err := l.Append(context.Background(), ev)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return r
}

// fakeSealer seals with AES-GCM under one key per tenant; Shred deletes a
// tenant's key, as the keys package's crypto-shredding does.
type fakeSealer struct {
	mu   sync.Mutex
	keys map[string][]byte
}

func newFakeSealer() *fakeSealer { return &fakeSealer{keys: map[string][]byte{}} }

func (s *fakeSealer) aead(tenant string, create bool) (cipher.AEAD, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[tenant]
	if !ok {
		if !create {
			return nil, errors.New("tenant key destroyed")
		}
		k = make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		s.keys[tenant] = k
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (s *fakeSealer) Seal(_ context.Context, tenant string, pt, aad []byte) ([]byte, error) {
	a, err := s.aead(tenant, true)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Seal(nonce, nonce, pt, aad), nil
}

func (s *fakeSealer) Open(_ context.Context, tenant string, ct, aad []byte) ([]byte, error) {
	a, err := s.aead(tenant, false)
	if err != nil {
		return nil, err
	}
	if len(ct) < a.NonceSize() {
		return nil, errors.New("short ciphertext")
	}
	return a.Open(nil, ct[:a.NonceSize()], ct[a.NonceSize():], aad)
}

func (s *fakeSealer) Shred(tenant string) {
	s.mu.Lock()
	delete(s.keys, tenant)
	s.mu.Unlock()
}

// faultFS opens real files whose writes and syncs fail while a fault is set,
// simulating a full or failing disk.
type faultFS struct {
	fault    atomic.Pointer[error]
	openFail atomic.Bool
}

func (f *faultFS) set(err error) {
	if err == nil {
		f.fault.Store(nil)
		return
	}
	f.fault.Store(&err)
}

func (f *faultFS) err() error {
	if p := f.fault.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (audit.File, error) {
	if f.openFail.Load() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EROFS}
	}
	file, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

type faultFile struct {
	*os.File
	fs *faultFS
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	if err := f.fs.err(); err != nil {
		// Simulate a short write reaching the disk before ENOSPC.
		n, _ := f.File.WriteAt(b[:len(b)/2], off)
		return n, err
	}
	return f.File.WriteAt(b, off)
}

func (f *faultFile) Sync() error {
	if err := f.fs.err(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(n int64) error {
	if err := f.fs.err(); err != nil {
		return err
	}
	return f.File.Truncate(n)
}

// copyDir copies a log directory (files only) for tampering.
func copyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := tb.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			tb.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

func segmentPath(tb testing.TB, dir string, first int64) string {
	tb.Helper()
	return filepath.Join(dir, fmt.Sprintf("events-%020d.log", first))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
