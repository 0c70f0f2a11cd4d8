package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
)

func TestNewAccessKey(t *testing.T) {
	id, secret, err := identity.NewAccessKey(rand.Reader)
	if err != nil || len(id) != 20 || !strings.HasPrefix(id, "AKIA") || len(secret) != identity.SecretLen {
		t.Fatalf("NewAccessKey = %q, %d-character secret, %v", id, len(secret), err)
	}
}

func TestSealSecret(t *testing.T) {
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "k"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sealed, err := identity.SealSecret(ctx, kek, "AKIAAAAAAAAAAAAAAAAA", "secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		got, err := identity.OpenSecret(ctx, kek, "AKIAAAAAAAAAAAAAAAAA", sealed)
		if err != nil || got != "secret" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("ErrOtherKeyID", func(t *testing.T) {
		if _, err := identity.OpenSecret(ctx, kek, "AKIABBBBBBBBBBBBBBBB", sealed); err == nil {
			t.Fatal("a sealed secret opened under another key ID")
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		if _, err := identity.OpenSecret(ctx, kek, "AKIAAAAAAAAAAAAAAAAA", bad); err == nil {
			t.Fatal("a tampered secret opened")
		}
	})
}
