package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/quota"
	quotasql "github.com/tenantml/tenantml/quota/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Quotas returns the tiers (operator path: they are the platform's) and
// tenants' overrides, each read and written in its tenant's scope
// (InTenant): row-level security shows a transaction only the tenant's own
// overrides.
func (db *DB) Quotas() quota.Store {
	return &quotasql.Store{
		Run: sqlRun(db.AsOperator),
		RunTenant: func(ctx context.Context, tenant string, fn func(sqltx.Tx) error) error {
			return sqlRun(func(ctx context.Context, f func(pgx.Tx) error) error { return db.InTenant(ctx, tenant, f) })(ctx, fn)
		},
		Dialect: dialect(),
		Now:     func() time.Time { return db.Now() },
	}
}
