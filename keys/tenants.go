package keys

import (
	"context"
	"fmt"

	"github.com/tenantml/tenantml/tenant"
)

// DefaultTenantDeletionDays is the waiting period scheduled for a tenant's
// keys when the tenant moves to pending deletion: the longest KMS allows,
// so that an erasure can still be cancelled for a month.
const DefaultTenantDeletionDays = 30

// TenantKeys provisions the keys every tenant has (tenant.Provisioner): a
// key under Alias at onboarding, and the scheduled deletion of all the
// tenant's keys when it moves to pending deletion.
type TenantKeys struct {
	Keys  *Service
	Alias string
	// DeletionDays is the waiting period; 0 means
	// DefaultTenantDeletionDays.
	DeletionDays int
}

var _ tenant.Provisioner = (*TenantKeys)(nil)

// Provision implements tenant.Provisioner: it creates the tenant's key
// under Alias unless it exists.
func (k *TenantKeys) Provision(ctx context.Context, t *tenant.Tenant) error {
	if _, err := k.Keys.EnsureKey(ctx, t.ID, k.Alias, "tenantml key of tenant "+t.ID); err != nil {
		return fmt.Errorf("create key %s: %w", k.Alias, err)
	}
	return nil
}

// Retire implements tenant.Provisioner: it schedules the deletion of
// every key of the tenant.
func (k *TenantKeys) Retire(ctx context.Context, id string) error {
	days := k.DeletionDays
	if days == 0 {
		days = DefaultTenantDeletionDays
	}
	if _, err := k.Keys.ScheduleTenantDeletion(ctx, id, days); err != nil {
		return fmt.Errorf("schedule key deletion: %w", err)
	}
	return nil
}
