package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
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
// shows only the tenant's resources and tags (rows whose tenant_id is
// tenantID) and refuses to write any other (EFORBIDDEN), e.g. creating a
// model of another tenant. Platform resources (an empty tenant_id) are invisible
// here, as they are to IdentityInTenant.
func (db *DB) ServingInTenant(tenantID string) serving.Store {
	return db.serving(func(ctx context.Context, fn func(pgx.Tx) error) error {
		return db.InTenant(ctx, tenantID, fn)
	})
}

func (db *DB) serving(run func(context.Context, func(pgx.Tx) error) error) serving.Store {
	return &sqlstore.Store{
		Run: func(ctx context.Context, fn func(sqltx.Tx) error) error {
			return run(ctx, func(tx pgx.Tx) error { return fn(pgxTx{tx}) })
		},
		Dialect: sqltx.Dialect{
			Numbered: true,
			IsUnique: isUniqueViolation,
			Time:     func(t time.Time) any { return t },
		},
		Now: func() time.Time { return db.Now() },
	}
}
