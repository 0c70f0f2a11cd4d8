package sqlite

import (
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Serving returns the control-plane resources (models, endpoint configs,
// endpoints and their tags; the queries live in serving/sqlstore, shared
// with store/postgres). SQLite has no row-level security: every query
// filters by account explicitly, and by tenant when the list filter names
// one. Times are stored as fixed-width millisecond text.
func (s *DB) Serving() serving.Store {
	return &sqlstore.Store{
		Run:  s.runTx,
		View: s.viewTx,
		Dialect: sqltx.Dialect{
			IsUnique: isUniqueViolation,
			Time:     sqlstore.TextTime,
		},
		Now: func() time.Time { return s.Now() },
	}
}
