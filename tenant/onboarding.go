package tenant

import (
	"context"
	"fmt"
)

// Provisioner creates and retires what a tenant owns beyond its registry
// entry: its keys today, its endpoints and roles with serving.
type Provisioner interface {
	// Provision creates what t needs; it must be idempotent (a retry after
	// a partial failure finds what exists and creates the rest).
	Provision(ctx context.Context, t *Tenant) error
	// Retire starts the removal of what tenant id owns, when it moves to
	// pending deletion (keys are scheduled for deletion, not destroyed).
	Retire(ctx context.Context, id string) error
}

// Onboarding is the tenant registry as the management API uses it: a
// Service whose CreateTenant also provisions the tenant and whose move to
// pending deletion retires what it owns, in the order the provisioners
// are given. A failed provisioning fails the request; the tenant exists
// and a retry of the provisioning (every Provision is idempotent)
// completes it.
type Onboarding struct {
	Service
	Provisioners []Provisioner
}

// CreateTenant creates t, then provisions it.
func (o *Onboarding) CreateTenant(ctx context.Context, t *Tenant) error {
	if err := o.Service.CreateTenant(ctx, t); err != nil {
		return err
	}
	for _, p := range o.Provisioners {
		if err := p.Provision(ctx, t); err != nil {
			return fmt.Errorf("provision tenant %s: %w", t.ID, err)
		}
	}
	return nil
}

// SetStatus moves tenant id to status to; on the move to pending deletion
// it retires what the tenant owns.
func (o *Onboarding) SetStatus(ctx context.Context, id string, to Status) (*Tenant, error) {
	t, err := o.Service.SetStatus(ctx, id, to)
	if err != nil || to != PendingDeletion {
		return t, err
	}
	for _, p := range o.Provisioners {
		if err := p.Retire(ctx, id); err != nil {
			return nil, fmt.Errorf("retire tenant %s: %w", id, err)
		}
	}
	return t, nil
}
