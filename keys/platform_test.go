package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// memSecrets is a SecretStore in memory; racer, when set, stores a value
// first on the next PutSecretIfAbsent, as another gateway would.
type memSecrets struct {
	mu     sync.Mutex
	m      map[string][]byte
	racer  func(name string) []byte
	failOn string
}

func (s *memSecrets) GetSecret(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == s.failOn {
		return nil, errors.New("disk on fire")
	}
	v, ok := s.m[name]
	if !ok {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "no secret %s", name)
	}
	return v, nil
}

func (s *memSecrets) PutSecretIfAbsent(_ context.Context, name string, value []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.racer != nil {
		s.m[name], s.racer = s.racer(name), nil
	}
	if _, ok := s.m[name]; ok {
		return false, nil
	}
	s.m[name] = value
	return true, nil
}

func TestPlatformSecret(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kek, err := keys.OpenLocalKEK(filepath.Join(dir, "a.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := keys.OpenLocalKEK(filepath.Join(dir, "b.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	value := func(v string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(v), nil } }
	t.Run("CreatedOnceThenRead", func(t *testing.T) {
		st := &memSecrets{m: map[string][]byte{}}
		v, created, err := keys.PlatformSecret(ctx, st, kek, "s", value("first"))
		if err != nil || !created || string(v) != "first" {
			t.Fatalf("first = %q %v %v", v, created, err)
		}
		if bytes.Contains(st.m["s"], []byte("first")) {
			t.Fatal("stored unsealed")
		}
		v, created, err = keys.PlatformSecret(ctx, st, kek, "s", value("second"))
		if err != nil || created || string(v) != "first" {
			t.Fatalf("second = %q %v %v, want the stored value", v, created, err)
		}
	})
	t.Run("RaceReturnsStoredValue", func(t *testing.T) {
		st := &memSecrets{m: map[string][]byte{}}
		st.racer = func(name string) []byte {
			sealed, err := kek.EncryptWithContext(ctx, []byte("winner"), keys.PlatformSecretAAD(name))
			if err != nil {
				t.Fatal(err)
			}
			return sealed
		}
		v, created, err := keys.PlatformSecret(ctx, st, kek, "s", value("loser"))
		if err != nil || created || string(v) != "winner" {
			t.Fatalf("= %q %v %v, want the winner's value", v, created, err)
		}
	})
	t.Run("ErrOtherMasterKey", func(t *testing.T) {
		st := &memSecrets{m: map[string][]byte{}}
		if _, _, err := keys.PlatformSecret(ctx, st, kek, "s", value("x")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := keys.PlatformSecret(ctx, st, other, "s", value("y")); err == nil {
			t.Fatal("opened under another master key")
		}
	})
	t.Run("ErrBoundToName", func(t *testing.T) {
		st := &memSecrets{m: map[string][]byte{}}
		if _, _, err := keys.PlatformSecret(ctx, st, kek, "a", value("x")); err != nil {
			t.Fatal(err)
		}
		st.m["b"] = st.m["a"]
		if _, _, err := keys.PlatformSecret(ctx, st, kek, "b", value("y")); err == nil {
			t.Fatal("a secret copied under another name opened")
		}
	})
	t.Run("ErrStoreFails", func(t *testing.T) {
		st := &memSecrets{m: map[string][]byte{}, failOn: "s"}
		if _, _, err := keys.PlatformSecret(ctx, st, kek, "s", value("x")); err == nil {
			t.Fatal("no error")
		}
	})
}
