package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/sqlstore"
)

// Serving returns the control-plane resources on the operator path: they
// belong to accounts, which span tenants, and the platform's own resources
// (the pool endpoint) are no tenant's. The API authorizes each call before
// it reaches the store.
func (db *DB) Serving() serving.Store {
	return db.serving(db.AsOperator)
}

// ServingInTenant returns the control-plane resources scoped to one
// tenant: every transaction runs through InTenant, so row-level security
// shows the tenant's resources and tags and the platform's (rows with an
// empty tenant_id, which every tenant's callers may see), and lets it
// write only the tenant's own: another tenant's resource is missing
// (ENOTFOUND), and creating one of another tenant or of the platform, or
// changing, tagging or deleting a platform resource, is EFORBIDDEN.
func (db *DB) ServingInTenant(tenantID string) serving.Store {
	return db.serving(func(ctx context.Context, fn func(pgx.Tx) error) error {
		return db.InTenant(ctx, tenantID, fn)
	})
}

func (db *DB) serving(run func(context.Context, func(pgx.Tx) error) error) serving.Store {
	return &sqlstore.Store{
		Run:     sqlRun(run),
		Dialect: dialect(),
		Now:     func() time.Time { return db.Now() },
	}
}
