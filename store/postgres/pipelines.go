package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/promotion/sqlstore"
)

// Pipelines returns the promotion pipelines on the operator path: the
// runner acts for every tenant, and the API authorizes each call and
// scopes it to the caller's tenant before it reaches the store.
func (db *DB) Pipelines() promotion.Store {
	return db.pipelines(db.AsOperator)
}

// PipelinesInTenant returns the pipelines scoped to one tenant by
// row-level security: another tenant's pipelines and runs are missing.
func (db *DB) PipelinesInTenant(tenantID string) promotion.Store {
	return db.pipelines(func(ctx context.Context, fn func(pgx.Tx) error) error {
		return db.InTenant(ctx, tenantID, fn)
	})
}

func (db *DB) pipelines(run func(context.Context, func(pgx.Tx) error) error) promotion.Store {
	return &sqlstore.Store{Run: sqlRun(run), Dialect: dialect(), Now: func() time.Time { return db.Now() }}
}
