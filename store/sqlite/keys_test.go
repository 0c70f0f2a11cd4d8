package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
	"github.com/tenantml/tenantml/store/sqlite"
)

func TestDB_Keys(t *testing.T) {
	keystest.Run(t, func(t *testing.T) keys.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db.Keys()
	})
}

// A destroyed key's wrapped keyset must not linger in the database file's
// free pages (secure_delete), once the WAL is checkpointed by Close.
func TestDB_KeysSecureDelete(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	marker := bytes.Repeat([]byte("WRAPPED-KEYSET-MARKER-"), 200)
	ks := db.Keys()
	rev, err := ks.PutKey(ctx, &keys.Record{Tenant: "acme", ID: "k1", Meta: []byte("{}"), Keyset: marker})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.DeleteKey(ctx, "acme", "k1", rev); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, marker[:44]) {
			t.Fatalf("%s still holds the deleted keyset", filepath.Base(p))
		}
	}
}
