package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/registry/sqlstore"
)

// Registry returns the model registry on the operator path: the API
// authorizes each call, and scopes it to the caller's tenant, before it
// reaches the store.
func (db *DB) Registry() registry.Store {
	return db.registry(db.AsOperator)
}

// RegistryInTenant returns the model registry scoped to one tenant: every
// transaction runs through InTenant, so row-level security shows and lets
// it write only the tenant's groups and packages; another tenant's, and
// the platform's, are missing (ENOTFOUND), and creating one of another
// tenant is EFORBIDDEN.
func (db *DB) RegistryInTenant(tenantID string) registry.Store {
	return db.registry(func(ctx context.Context, fn func(pgx.Tx) error) error {
		return db.InTenant(ctx, tenantID, fn)
	})
}

func (db *DB) registry(run func(context.Context, func(pgx.Tx) error) error) registry.Store {
	return &sqlstore.Store{
		Run:     sqlRun(run),
		Dialect: dialect(),
		Now:     func() time.Time { return db.Now() },
	}
}
