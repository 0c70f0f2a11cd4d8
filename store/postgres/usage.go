package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/metering/sqlstore"
)

// Usage returns the usage records and watermarks on the operator path:
// the meters write every tenant's records, and the API authorizes each
// read (and names its tenant) before it reaches the store.
func (db *DB) Usage() metering.Store {
	return &sqlstore.Store{Run: sqlRun(db.AsOperator), Dialect: dialect()}
}

// UsageInTenant returns the usage records scoped to one tenant: row-level
// security shows only its records and refuses every write.
func (db *DB) UsageInTenant(tenantID string) metering.Store {
	return &sqlstore.Store{Run: sqlRun(func(ctx context.Context, fn func(pgx.Tx) error) error {
		return db.InTenant(ctx, tenantID, fn)
	}), Dialect: dialect()}
}
