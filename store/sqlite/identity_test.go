package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/store/storetest"
)

func BenchmarkDB_PoliciesForUser(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkEffective(b, db.Identity())
}
