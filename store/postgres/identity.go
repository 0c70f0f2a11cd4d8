package postgres

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/identity/sqlstore"
)

// Identity returns the IAM entity store on the operator path: IAM entities
// belong to accounts, which span tenants, and authentication-time lookups
// (GetAccessKey, PoliciesForUser, PoliciesForRole) must find any tenant's
// principal. The IAM API authorizes each call before it reaches the store.
func (db *DB) Identity() identity.Service {
	return db.identity(db.AsOperator)
}

// IdentityInTenant returns the IAM entity store scoped to one tenant: every
// transaction runs through InTenant, so row-level security shows only the
// tenant's entities (rows whose tenant_id is tenantID) and refuses to
// write any other (EFORBIDDEN), e.g. creating a role tagged with another
// tenant. Platform entities (tenant_id ”) and groups are invisible here.
func (db *DB) IdentityInTenant(tenantID string) identity.Service {
	return db.identity(func(ctx context.Context, fn func(pgx.Tx) error) error {
		return db.InTenant(ctx, tenantID, fn)
	})
}

// Accounts returns the deployment's further accounts on the operator path
// (a platform table: row-level security shows it to no tenant scope).
func (db *DB) Accounts() identity.AccountStore {
	return db.identity(db.AsOperator).(*sqlstore.Store)
}

func (db *DB) identity(run func(context.Context, func(pgx.Tx) error) error) identity.Service {
	return &sqlstore.Store{
		Run:     sqlRun(run),
		Dialect: dialect(),
		Now:     func() time.Time { return db.Now() },
		Rand:    rand.Reader,
	}
}
