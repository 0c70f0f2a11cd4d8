package sqlite

import (
	"context"
	"time"

	"github.com/tenantml/tenantml/quota"
	quotasql "github.com/tenantml/tenantml/quota/sqlstore"
	"github.com/tenantml/tenantml/serving/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Quotas returns the tiers and tenants' overrides (the queries live in
// quota/sqlstore, shared with store/postgres). SQLite has no row-level
// security: every override query filters by its tenant explicitly.
func (s *DB) Quotas() quota.Store {
	return &quotasql.Store{
		Run: s.runTx,
		RunTenant: func(ctx context.Context, _ string, fn func(sqltx.Tx) error) error {
			return s.runTx(ctx, fn)
		},
		Dialect: sqltx.Dialect{IsUnique: isUniqueViolation, Time: sqlstore.TextTime},
		Now:     func() time.Time { return s.Now() },
	}
}
