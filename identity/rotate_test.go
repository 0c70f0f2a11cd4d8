package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
)

func (m memSecrets) ReplaceSecret(_ context.Context, name string, old, value []byte) (bool, error) {
	if v, ok := m[name]; !ok || !bytes.Equal(v, old) {
		return false, nil
	}
	m[name] = value
	return true, nil
}

// racingSecrets changes the stored value between the read and the swap,
// as a concurrent rotation would.
type racingSecrets struct{ memSecrets }

func (r racingSecrets) ReplaceSecret(ctx context.Context, name string, old, value []byte) (bool, error) {
	r.memSecrets[name] = []byte("changed meanwhile")
	return r.memSecrets.ReplaceSecret(ctx, name, old, value)
}

func TestRotateRoot(t *testing.T) {
	ctx := context.Background()
	newKEK := func(t *testing.T) keys.KEK {
		t.Helper()
		kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return kek
	}
	kek := newKEK(t)
	bootstrap := func(t *testing.T) (memSecrets, identity.RootKey) {
		t.Helper()
		st := memSecrets{}
		k, _, err := identity.BootstrapRoot(ctx, st, kek, identity.RootKey{}, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return st, k
	}

	t.Run("GeneratedReplacesStored", func(t *testing.T) {
		st, old := bootstrap(t)
		k, generated, err := identity.RotateRoot(ctx, st, kek, identity.RootKey{}, rand.Reader)
		if err != nil || !generated || len(k.AccessKeyID) != 20 || len(k.Secret) != identity.SecretLen || k.AccessKeyID == old.AccessKeyID {
			t.Fatalf("rotate = %v generated %v err %v (old %v)", k.AccessKeyID, generated, err, old.AccessKeyID)
		}
		got, generated, err := identity.BootstrapRoot(ctx, st, kek, identity.RootKey{}, rand.Reader)
		if err != nil || generated || got.AccessKeyID != k.AccessKeyID || !bytes.Equal(got.Secret, k.Secret) {
			t.Fatalf("the next start reads %v (err %v), want the rotated %v", got.AccessKeyID, err, k.AccessKeyID)
		}
	})
	t.Run("ToConfigured", func(t *testing.T) {
		st, _ := bootstrap(t)
		cfg := identity.RootKey{AccessKeyID: "AKIAROTATEDROTATED00", Secret: []byte("configured-after-rotation")}
		k, generated, err := identity.RotateRoot(ctx, st, kek, cfg, rand.Reader)
		if err != nil || generated || k.AccessKeyID != cfg.AccessKeyID {
			t.Fatalf("rotate = %v generated %v err %v", k.AccessKeyID, generated, err)
		}
		if _, _, err := identity.BootstrapRoot(ctx, st, kek, cfg, rand.Reader); err != nil {
			t.Fatalf("a start configured with the rotated key is refused: %v", err)
		}
	})
	t.Run("FromLegacyFormat", func(t *testing.T) {
		sealed, err := kek.EncryptWithContext(ctx, []byte("legacy-secret"), keys.PlatformSecretAAD("root-credentials"))
		if err != nil {
			t.Fatal(err)
		}
		blob, _ := json.Marshal(map[string]any{"accessKeyId": "AKIALEGACYLEGACYLEGA", "sealedSecret": sealed})
		st := memSecrets{"root-credentials": blob}
		k, _, err := identity.RotateRoot(ctx, st, kek, identity.RootKey{}, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := identity.BootstrapRoot(ctx, st, kek, identity.RootKey{}, rand.Reader); err != nil || got.AccessKeyID != k.AccessKeyID {
			t.Fatalf("after rotating a legacy record the next start reads %v (err %v), want %v", got.AccessKeyID, err, k.AccessKeyID)
		}
	})

	for _, tt := range []struct {
		name    string
		setup   func(t *testing.T) (identity.RotatableSecrets, keys.KEK, identity.RootKey)
		wantErr string
	}{
		{"ErrNothingStored", func(t *testing.T) (identity.RotatableSecrets, keys.KEK, identity.RootKey) {
			return memSecrets{}, kek, identity.RootKey{}
		}, "no root credentials"},
		{"ErrOtherMasterKey", func(t *testing.T) (identity.RotatableSecrets, keys.KEK, identity.RootKey) {
			st, _ := bootstrap(t)
			return st, newKEK(t), identity.RootKey{}
		}, "unseal root credentials"},
		{"ErrSameAsCurrent", func(t *testing.T) (identity.RotatableSecrets, keys.KEK, identity.RootKey) {
			st, k := bootstrap(t)
			return st, kek, k
		}, "nothing to rotate"},
		{"ErrConcurrentChange", func(t *testing.T) (identity.RotatableSecrets, keys.KEK, identity.RootKey) {
			st, _ := bootstrap(t)
			return racingSecrets{st}, kek, identity.RootKey{}
		}, "changed while rotating"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, k, cfg := tt.setup(t)
			var before []byte
			if m, ok := st.(memSecrets); ok {
				before = bytes.Clone(m["root-credentials"])
			}
			_, _, err := identity.RotateRoot(ctx, st, k, cfg, rand.Reader)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if m, ok := st.(memSecrets); ok && !bytes.Equal(m["root-credentials"], before) {
				t.Fatal("a refused rotation changed the stored key")
			}
		})
	}
}
