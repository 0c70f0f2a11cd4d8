package sqlite

import (
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/metering/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Usage returns the usage records and their sources' watermarks (the
// queries live in metering/sqlstore, shared with store/postgres). SQLite
// has no row-level security: every read names its tenant or all tenants
// explicitly (metering.Filter).
func (s *DB) Usage() metering.Store {
	return &sqlstore.Store{
		Run:     s.runTx,
		View:    s.viewTx,
		Dialect: sqltx.Dialect{IsUnique: isUniqueViolation, Time: sqlstore.TextTime},
	}
}
