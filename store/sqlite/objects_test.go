package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
	"github.com/tenantml/tenantml/store/sqlite"
)

func TestDB_Objects(t *testing.T) {
	artifacttest.Run(t, func(t *testing.T) artifact.Index {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db.Objects()
	})
}
