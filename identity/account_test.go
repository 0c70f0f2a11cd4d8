package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store/sqlite"
)

func newAccounts(t *testing.T, r io.Reader) (*identity.Accounts, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &identity.Accounts{Store: db.Accounts(), Secrets: db.Secrets(), KEK: kek, Primary: "000000000000", Rand: r}, db
}

func TestAccounts_Create(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s, db := newAccounts(t, nil)
		a, root, err := s.Create(ctx, "dev")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.ID) != 12 || a.ID[0] == '0' || identity.ValidateAccount(a.ID) != nil {
			t.Errorf("account ID %q", a.ID)
		}
		if !strings.HasPrefix(root.AccessKeyID, "AKIA") || len(root.Secret) == 0 || a.RootAccessKeyID != root.AccessKeyID {
			t.Errorf("root key %q for account %+v", root.AccessKeyID, a)
		}
		got, key, err := s.Root(ctx, root.AccessKeyID)
		if err != nil || got.ID != a.ID || !bytes.Equal(key.Secret, root.Secret) {
			t.Fatalf("Root = %+v, %v", got, err)
		}
		// The store holds the secret sealed only.
		sealed, err := db.Secrets().GetSecret(ctx, identity.AccountRootSecretName(a.ID))
		if err != nil || bytes.Contains(sealed, root.Secret) {
			t.Errorf("stored root secret: %v, in the clear: %v", err, bytes.Contains(sealed, root.Secret))
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 2 || list[0].Name != identity.PrimaryAccountName || list[0].ID != "000000000000" || list[1].ID != a.ID {
			t.Errorf("List = %+v, %v", list, err)
		}
		if _, _, err := s.Root(ctx, "AKIAUNKNOWN000000000"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("Root(unknown) = %v, want not found", err)
		}
	})
	t.Run("ErrName", func(t *testing.T) {
		s, _ := newAccounts(t, nil)
		if _, _, err := s.Create(ctx, "dev"); err != nil {
			t.Fatal(err)
		}
		for name, code := range map[string]string{"dev": tenantml.ECONFLICT, "primary": tenantml.ECONFLICT, "Dev": tenantml.EINVALID, "d": tenantml.EINVALID, "-dev": tenantml.EINVALID, "dev_1": tenantml.EINVALID} {
			if _, _, err := s.Create(ctx, name); tenantml.ErrorCode(err) != code {
				t.Errorf("Create(%q) = %v, want %s", name, err, code)
			}
		}
	})
	t.Run("IDTakenDrawsAnother", func(t *testing.T) {
		// The same randomness twice: the second account's first ID is the
		// first account's, so it draws again.
		seed := make([]byte, 4096)
		if _, err := rand.Read(seed); err != nil {
			t.Fatal(err)
		}
		s, _ := newAccounts(t, nil)
		s.Rand = bytes.NewReader(seed)
		a, _, err := s.Create(ctx, "dev")
		if err != nil {
			t.Fatal(err)
		}
		s.Rand = io.MultiReader(bytes.NewReader(seed), rand.Reader)
		b, _, err := s.Create(ctx, "staging")
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == b.ID {
			t.Fatalf("two accounts with ID %s", a.ID)
		}
	})
}

func TestAccounts_RotateRoot(t *testing.T) {
	ctx := context.Background()
	s, db := newAccounts(t, nil)
	a, old, err := s.Create(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	key, generated, err := s.RotateRoot(ctx, db.Secrets(), a.ID, identity.RootKey{})
	if err != nil || !generated || key.AccessKeyID == old.AccessKeyID {
		t.Fatalf("RotateRoot = %v, %v, %v", key.AccessKeyID, generated, err)
	}
	if _, _, err := s.Root(ctx, old.AccessKeyID); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Errorf("old root key after rotation: %v, want not found", err)
	}
	if got, k, err := s.Root(ctx, key.AccessKeyID); err != nil || got.ID != a.ID || !bytes.Equal(k.Secret, key.Secret) {
		t.Errorf("new root key: %+v, %v", got, err)
	}
	t.Run("Configured", func(t *testing.T) {
		want := identity.RootKey{AccessKeyID: "AKIACONFIGUREDROOT01", Secret: []byte("configured-secret")}
		got, generated, err := s.RotateRoot(ctx, db.Secrets(), a.ID, want)
		if err != nil || generated || got.AccessKeyID != want.AccessKeyID {
			t.Fatalf("RotateRoot(configured) = %v, %v, %v", got.AccessKeyID, generated, err)
		}
		if _, _, err := s.RotateRoot(ctx, db.Secrets(), a.ID, want); err == nil || !strings.Contains(err.Error(), "nothing to rotate") {
			t.Errorf("rotating to the current key: %v", err)
		}
	})
	t.Run("ErrUnknownAccount", func(t *testing.T) {
		if _, _, err := s.RotateRoot(ctx, db.Secrets(), "999999999999", identity.RootKey{}); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("RotateRoot(unknown) = %v, want not found", err)
		}
	})
}
