package sqlite

import (
	"time"

	"github.com/tenantml/tenantml/registry"
	regsql "github.com/tenantml/tenantml/registry/sqlstore"
	"github.com/tenantml/tenantml/serving/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Registry returns the model registry (groups and packages; the queries
// live in registry/sqlstore, shared with store/postgres). SQLite has no
// row-level security: every query filters by account explicitly, and by
// tenant when the list filter names one.
func (s *DB) Registry() registry.Store {
	return &regsql.Store{
		Run:  s.runTx,
		View: s.viewTx,
		Dialect: sqltx.Dialect{
			IsUnique: isUniqueViolation,
			Time:     sqlstore.TextTime,
		},
		Now: func() time.Time { return s.Now() },
	}
}
