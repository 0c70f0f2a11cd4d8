package identity_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
)

type memSecrets map[string][]byte

func (m memSecrets) GetSecret(_ context.Context, name string) ([]byte, error) {
	v, ok := m[name]
	if !ok {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "no secret %s", name)
	}
	return v, nil
}

func (m memSecrets) PutSecretIfAbsent(_ context.Context, name string, value []byte) (bool, error) {
	if _, ok := m[name]; ok {
		return false, nil
	}
	m[name] = value
	return true, nil
}

func TestBootstrapRoot(t *testing.T) {
	ctx := context.Background()
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("GeneratedOnceThenRead", func(t *testing.T) {
		st := memSecrets{}
		first, generated, err := identity.BootstrapRoot(ctx, st, kek, identity.RootKey{}, rand.Reader)
		if err != nil || !generated || len(first.AccessKeyID) != 20 || len(first.Secret) != identity.SecretLen {
			t.Fatalf("first = %+v generated %v err %v", first.AccessKeyID, generated, err)
		}
		again, generated, err := identity.BootstrapRoot(ctx, st, kek, identity.RootKey{}, rand.Reader)
		if err != nil || generated || again.AccessKeyID != first.AccessKeyID || string(again.Secret) != string(first.Secret) {
			t.Fatalf("again = %v generated %v err %v", again.AccessKeyID, generated, err)
		}
	})
	t.Run("ConfiguredThenMismatchRefused", func(t *testing.T) {
		st := memSecrets{}
		cfg := identity.RootKey{AccessKeyID: "AKIAROOTROOTROOTROOT", Secret: []byte("configured-secret")}
		k, generated, err := identity.BootstrapRoot(ctx, st, kek, cfg, rand.Reader)
		if err != nil || generated || k.AccessKeyID != cfg.AccessKeyID {
			t.Fatalf("= %v %v %v", k.AccessKeyID, generated, err)
		}
		if _, _, err := identity.BootstrapRoot(ctx, st, kek, identity.RootKey{AccessKeyID: cfg.AccessKeyID, Secret: []byte("other")}, rand.Reader); err == nil {
			t.Fatal("a different configured secret was accepted")
		}
	})
	t.Run("LegacyFormat", func(t *testing.T) {
		sealed, err := kek.EncryptWithContext(ctx, []byte("legacy-secret"), keys.PlatformSecretAAD("root-credentials"))
		if err != nil {
			t.Fatal(err)
		}
		blob, _ := json.Marshal(map[string]any{"accessKeyId": "AKIALEGACYLEGACYLEGA", "sealedSecret": sealed})
		st := memSecrets{"root-credentials": blob}
		k, generated, err := identity.BootstrapRoot(ctx, st, kek, identity.RootKey{}, rand.Reader)
		if err != nil || generated || k.AccessKeyID != "AKIALEGACYLEGACYLEGA" || string(k.Secret) != "legacy-secret" {
			t.Fatalf("= %v %v %v", k.AccessKeyID, generated, err)
		}
	})
}
