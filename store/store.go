package store

import (
	"context"

	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/quota"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/tenant"
)

// Store is the metadata store.
type Store interface {
	// Tenants returns the tenant registry.
	Tenants() tenant.Service
	// Identity returns the IAM entities (users, groups, roles, policies,
	// access keys, OIDC providers) of every account.
	Identity() identity.Service
	// Keys returns the per-tenant key records and aliases of package keys
	// (wrapped keysets; every method takes the tenant explicitly).
	Keys() keys.Store
	// Serving returns the control-plane resources of every account
	// (models, endpoint configs, endpoints and their tags).
	Serving() serving.Store
	// Rollouts returns the endpoints' blue/green updates.
	Rollouts() serving.RolloutStore
	// Alarms returns the metric alarms of every account.
	Alarms() alarm.Store
	// Registry returns the model registry of every account (model package
	// groups and their versioned packages).
	Registry() registry.Store
	// Pipelines returns the promotion pipelines and their runs (every
	// read names its account explicitly; the API scopes it to a tenant).
	Pipelines() promotion.Store
	// Objects returns the S3 object store's index (package artifact):
	// buckets, objects, multipart uploads and parts.
	Objects() artifact.Index
	// Quotas returns the tiers and tenants' quota overrides.
	Quotas() quota.Store
	// Usage returns the hourly usage records and the watermarks of the
	// meters that write them (package metering).
	Usage() metering.Store
	// Autoscaling returns the scalable targets, scaling policies and
	// scaling activities of package autoscale (every read names its
	// tenant, or all tenants, explicitly).
	Autoscaling() autoscale.Store
	// Accounts returns the deployment's further accounts (operator-only;
	// the primary account is configured, not stored).
	Accounts() identity.AccountStore
	// Secrets returns the platform's sealed secrets (operator-only).
	Secrets() Secrets
	// Ping reports whether the store answers; /readyz uses it.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// Secrets holds platform-wide values that are already sealed (encrypted or
// hashed) by the caller, such as the operator's root credentials. Nothing
// tenant-owned is stored here.
type Secrets interface {
	// GetSecret returns the value stored under name, or ENOTFOUND.
	GetSecret(ctx context.Context, name string) ([]byte, error)
	// PutSecretIfAbsent stores value under name unless a value already
	// exists; it reports whether it stored.
	PutSecretIfAbsent(ctx context.Context, name string, value []byte) (bool, error)
	// ReplaceSecret stores value under name if the stored value is still
	// old (compare and swap); it reports whether it replaced. A missing
	// name is not replaced.
	ReplaceSecret(ctx context.Context, name string, old, value []byte) (bool, error)
}
