package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/store/storetest"
)

func TestDB_Autoscaling(t *testing.T) {
	storetest.RunAutoscaling(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
