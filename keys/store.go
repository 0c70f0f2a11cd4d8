package keys

import "context"

// Record is one customer master key as persisted: its metadata document and
// its wrapped keyset, keyed by (Tenant, ID).
type Record struct {
	Tenant string
	ID     string // key ID (UUID)
	// Meta is the key's metadata document, opaque to the store (JSON
	// written by this package).
	Meta []byte
	// Keyset is the Tink keyset wrapped by the KEK, opaque to the store.
	Keyset []byte
	// Revision is the optimistic-concurrency token. The store sets it: 1 on
	// creation, incremented by every successful PutKey.
	Revision int64
}

// Alias is a friendly name ("alias/<name>") for one key of one tenant.
type Alias struct {
	Tenant   string
	Name     string // including the "alias/" prefix
	KeyID    string
	Revision int64 // as for Record
}

// Store persists key records and aliases. Every method takes the tenant
// explicitly and must fail with a tenantml.EINVALID error when it is empty;
// a row of another tenant is never returned, listed, changed or deleted.
//
// Errors: a missing row is a tenantml.ENOTFOUND error; a revision mismatch
// or a create of an existing row is a tenantml.ECONFLICT error. Returned
// records are copies the caller may modify. Lists are sorted by ID / Name.
type Store interface {
	// GetKey returns the key record (tenant, id).
	GetKey(ctx context.Context, tenant, id string) (*Record, error)
	// ListKeys returns every key record of tenant, sorted by ID.
	ListKeys(ctx context.Context, tenant string) ([]*Record, error)
	// PutKey creates (rec.Revision == 0, conflict if the row exists) or
	// replaces (rec.Revision must equal the stored revision) a key record
	// and returns its new revision.
	PutKey(ctx context.Context, rec *Record) (int64, error)
	// DeleteKey deletes the key record if its stored revision is revision.
	DeleteKey(ctx context.Context, tenant, id string, revision int64) error

	// GetAlias returns the alias (tenant, name).
	GetAlias(ctx context.Context, tenant, name string) (*Alias, error)
	// ListAliases returns every alias of tenant, sorted by Name.
	ListAliases(ctx context.Context, tenant string) ([]*Alias, error)
	// PutAlias creates or replaces an alias with the same revision rules
	// as PutKey and returns its new revision.
	PutAlias(ctx context.Context, a *Alias) (int64, error)
	// DeleteAlias deletes the alias if its stored revision is revision.
	DeleteAlias(ctx context.Context, tenant, name string, revision int64) error

	// ListTenants returns the tenants that have at least one key record,
	// sorted. It is used only by the operator sweeps (RotateDue,
	// DestroyDue), never on a tenant's request path.
	ListTenants(ctx context.Context) ([]string, error)
	// FindKeyOwner returns the tenant holding the key record with ID id,
	// ENOTFOUND if none does. It reads across tenants: only a platform
	// (operator) caller's request may lead here, never a tenant's.
	FindKeyOwner(ctx context.Context, id string) (string, error)
}
