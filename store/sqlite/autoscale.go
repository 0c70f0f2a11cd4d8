package sqlite

import (
	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/autoscale/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Autoscaling returns the scalable targets, scaling policies and
// activities (the queries live in autoscale/sqlstore, shared with
// store/postgres). SQLite has no row-level security: every query names
// its tenant or all tenants explicitly (autoscale.Filter).
func (s *DB) Autoscaling() autoscale.Store {
	return &sqlstore.Store{Run: s.runTx, Dialect: sqltx.Dialect{IsUnique: isUniqueViolation, Time: sqlstore.TextTime}}
}
