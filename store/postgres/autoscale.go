package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/autoscale/sqlstore"
)

// Autoscaling returns the scalable targets, policies and activities on
// the operator path: the scaler reads every tenant's targets, and the API
// authorizes each request (and names its tenant in every query) before it
// reaches the store.
func (db *DB) Autoscaling() autoscale.Store {
	return &sqlstore.Store{Run: sqlRun(db.AsOperator), Dialect: dialect()}
}

// AutoscalingInTenant returns the autoscaling rows scoped to one tenant:
// row-level security shows and accepts only that tenant's rows.
func (db *DB) AutoscalingInTenant(tenantID string) autoscale.Store {
	return &sqlstore.Store{Run: sqlRun(func(ctx context.Context, fn func(pgx.Tx) error) error {
		return db.InTenant(ctx, tenantID, fn)
	}), Dialect: dialect()}
}
