package sqlite_test

import (
	"context"
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
