package postgres_test

import (
	"testing"

	"github.com/tenantml/tenantml/store/storetest"
)

func BenchmarkDB_PoliciesForUser(b *testing.B) {
	db := open(b, newEnv(b).config())
	storetest.BenchmarkEffective(b, db.Identity())
}
