package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/store/storetest"
)

func TestDB_Serving(t *testing.T) {
	storetest.RunServing(t, func(t *testing.T, now func() time.Time) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		db.Now = now
		return db
	})
}

func TestDB_Deployments(t *testing.T) {
	storetest.RunDeployments(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestDB_Registry(t *testing.T) {
	storetest.RunRegistry(t, func(t *testing.T, now func() time.Time) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		db.Now = now
		return db
	})
}

func TestDB_Pipelines(t *testing.T) {
	storetest.RunPipelines(t, func(t *testing.T, now func() time.Time) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		db.Now = now
		return db
	})
}
