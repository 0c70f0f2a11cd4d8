package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/store/storetest"
)

func TestDB_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestOpen_ReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tenants().CreateTenant(ctx, storetest.NewTenant("acme")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path) // migrations must not re-run
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.Tenants().FindTenant(ctx, "acme"); err != nil {
		t.Fatalf("tenant lost across reopen: %v", err)
	}
}

func TestOpen_ErrUnwritable(t *testing.T) {
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "meta.db"))
	if err == nil {
		t.Fatal("open in a missing directory succeeded")
	}
}
