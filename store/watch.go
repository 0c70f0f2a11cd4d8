package store

import (
	"context"
	"time"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/tenant"
)

// Watch returns s with every write to its tenant registry, IAM entities and
// key records reported to changed, once the write returns (whether it
// succeeded or not). It is the one chokepoint through which the caches of
// store reads on the request path (a role's session revocation, a tenant's
// status, a resolved access key, an audit data key, effective policies)
// learn of this process's writes, whatever path made them: the API, the
// onboarding, the demo or a test that writes to the store directly. Writes
// made by another process sharing the store are not seen here: the caches'
// TTLs bound how long they go unseen.
//
// Reads (Get*, List*, Find*, PoliciesFor*) and RecordAccessKeyUse (a key's
// last-used time, which no cache holds) are not reported. The other parts
// of s are returned unchanged.
func Watch(s Store, changed func()) Store {
	return &watched{Store: s, changed: changed}
}

// Unwrap returns the store s watches, or s itself when it is not watched.
func Unwrap(s Store) Store {
	if w, ok := s.(*watched); ok {
		return w.Store
	}
	return s
}

// watched is Watch's Store.
type watched struct {
	Store
	changed func()
}

func (w *watched) Identity() identity.Service {
	return watchedIdentity{Service: w.Store.Identity(), changed: w.changed}
}

func (w *watched) Tenants() tenant.Service {
	return watchedTenants{Service: w.Store.Tenants(), changed: w.changed}
}

func (w *watched) Keys() keys.Store {
	return watchedKeys{Store: w.Store.Keys(), changed: w.changed}
}

// watchedIdentity reports identity writes; reads pass through the embedded
// Service.
type watchedIdentity struct {
	identity.Service
	changed func()
}

// watchedTenants reports tenant registry writes.
type watchedTenants struct {
	tenant.Service
	changed func()
}

// watchedKeys reports key record and alias writes.
type watchedKeys struct {
	keys.Store
	changed func()
}

func (w watchedIdentity) CreateUser(ctx context.Context, acct string, u *identity.User) error {
	defer w.changed()
	return w.Service.CreateUser(ctx, acct, u)
}

func (w watchedIdentity) DeleteUser(ctx context.Context, acct, name string) error {
	defer w.changed()
	return w.Service.DeleteUser(ctx, acct, name)
}

func (w watchedIdentity) TagUser(ctx context.Context, acct, name string, tags map[string]string) error {
	defer w.changed()
	return w.Service.TagUser(ctx, acct, name, tags)
}

func (w watchedIdentity) UntagUser(ctx context.Context, acct, name string, keys []string) error {
	defer w.changed()
	return w.Service.UntagUser(ctx, acct, name, keys)
}

func (w watchedIdentity) PutUserPermissionsBoundary(ctx context.Context, acct, name, policyARN string) error {
	defer w.changed()
	return w.Service.PutUserPermissionsBoundary(ctx, acct, name, policyARN)
}

func (w watchedIdentity) DeleteUserPermissionsBoundary(ctx context.Context, acct, name string) error {
	defer w.changed()
	return w.Service.DeleteUserPermissionsBoundary(ctx, acct, name)
}

func (w watchedIdentity) CreateGroup(ctx context.Context, acct string, g *identity.Group) error {
	defer w.changed()
	return w.Service.CreateGroup(ctx, acct, g)
}

func (w watchedIdentity) DeleteGroup(ctx context.Context, acct, name string) error {
	defer w.changed()
	return w.Service.DeleteGroup(ctx, acct, name)
}

func (w watchedIdentity) AddUserToGroup(ctx context.Context, acct, group, user string) error {
	defer w.changed()
	return w.Service.AddUserToGroup(ctx, acct, group, user)
}

func (w watchedIdentity) RemoveUserFromGroup(ctx context.Context, acct, group, user string) error {
	defer w.changed()
	return w.Service.RemoveUserFromGroup(ctx, acct, group, user)
}

func (w watchedIdentity) CreateRole(ctx context.Context, acct string, r *identity.Role) error {
	defer w.changed()
	return w.Service.CreateRole(ctx, acct, r)
}

func (w watchedIdentity) DeleteRole(ctx context.Context, acct, name string) error {
	defer w.changed()
	return w.Service.DeleteRole(ctx, acct, name)
}

func (w watchedIdentity) UpdateAssumeRolePolicy(ctx context.Context, acct, name, document string) error {
	defer w.changed()
	return w.Service.UpdateAssumeRolePolicy(ctx, acct, name, document)
}

func (w watchedIdentity) UpdateRole(ctx context.Context, acct, name, description string, maxSessionDuration int) error {
	defer w.changed()
	return w.Service.UpdateRole(ctx, acct, name, description, maxSessionDuration)
}

func (w watchedIdentity) TagRole(ctx context.Context, acct, name string, tags map[string]string) error {
	defer w.changed()
	return w.Service.TagRole(ctx, acct, name, tags)
}

func (w watchedIdentity) UntagRole(ctx context.Context, acct, name string, keys []string) error {
	defer w.changed()
	return w.Service.UntagRole(ctx, acct, name, keys)
}

func (w watchedIdentity) PutRolePermissionsBoundary(ctx context.Context, acct, name, policyARN string) error {
	defer w.changed()
	return w.Service.PutRolePermissionsBoundary(ctx, acct, name, policyARN)
}

func (w watchedIdentity) DeleteRolePermissionsBoundary(ctx context.Context, acct, name string) error {
	defer w.changed()
	return w.Service.DeleteRolePermissionsBoundary(ctx, acct, name)
}

func (w watchedIdentity) RevokeRoleSessions(ctx context.Context, acct, name string, before time.Time) error {
	defer w.changed()
	return w.Service.RevokeRoleSessions(ctx, acct, name, before)
}

func (w watchedIdentity) PutInlinePolicy(ctx context.Context, acct string, to identity.Ref, name, document string) error {
	defer w.changed()
	return w.Service.PutInlinePolicy(ctx, acct, to, name, document)
}

func (w watchedIdentity) DeleteInlinePolicy(ctx context.Context, acct string, of identity.Ref, name string) error {
	defer w.changed()
	return w.Service.DeleteInlinePolicy(ctx, acct, of, name)
}

func (w watchedIdentity) CreatePolicy(ctx context.Context, acct string, p *identity.Policy, document string) error {
	defer w.changed()
	return w.Service.CreatePolicy(ctx, acct, p, document)
}

func (w watchedIdentity) DeletePolicy(ctx context.Context, acct, policyARN string) error {
	defer w.changed()
	return w.Service.DeletePolicy(ctx, acct, policyARN)
}

func (w watchedIdentity) CreatePolicyVersion(ctx context.Context, acct, policyARN, document string, setAsDefault bool) (*identity.PolicyVersion, error) {
	defer w.changed()
	return w.Service.CreatePolicyVersion(ctx, acct, policyARN, document, setAsDefault)
}

func (w watchedIdentity) DeletePolicyVersion(ctx context.Context, acct, policyARN, versionID string) error {
	defer w.changed()
	return w.Service.DeletePolicyVersion(ctx, acct, policyARN, versionID)
}

func (w watchedIdentity) SetDefaultPolicyVersion(ctx context.Context, acct, policyARN, versionID string) error {
	defer w.changed()
	return w.Service.SetDefaultPolicyVersion(ctx, acct, policyARN, versionID)
}

func (w watchedIdentity) AttachPolicy(ctx context.Context, acct string, to identity.Ref, policyARN string) error {
	defer w.changed()
	return w.Service.AttachPolicy(ctx, acct, to, policyARN)
}

func (w watchedIdentity) DetachPolicy(ctx context.Context, acct string, from identity.Ref, policyARN string) error {
	defer w.changed()
	return w.Service.DetachPolicy(ctx, acct, from, policyARN)
}

func (w watchedIdentity) CreateAccessKey(ctx context.Context, acct string, k *identity.AccessKey) error {
	defer w.changed()
	return w.Service.CreateAccessKey(ctx, acct, k)
}

func (w watchedIdentity) UpdateAccessKey(ctx context.Context, acct, user, keyID, status string) error {
	defer w.changed()
	return w.Service.UpdateAccessKey(ctx, acct, user, keyID, status)
}

func (w watchedIdentity) DeleteAccessKey(ctx context.Context, acct, user, keyID string) error {
	defer w.changed()
	return w.Service.DeleteAccessKey(ctx, acct, user, keyID)
}

func (w watchedIdentity) CreateOpenIDConnectProvider(ctx context.Context, acct string, p *identity.OIDCProvider) error {
	defer w.changed()
	return w.Service.CreateOpenIDConnectProvider(ctx, acct, p)
}

func (w watchedIdentity) DeleteOpenIDConnectProvider(ctx context.Context, acct, providerARN string) error {
	defer w.changed()
	return w.Service.DeleteOpenIDConnectProvider(ctx, acct, providerARN)
}

func (w watchedTenants) CreateTenant(ctx context.Context, t *tenant.Tenant) error {
	defer w.changed()
	return w.Service.CreateTenant(ctx, t)
}

func (w watchedTenants) UpdateTenant(ctx context.Context, id string, u tenant.Update) (*tenant.Tenant, error) {
	defer w.changed()
	return w.Service.UpdateTenant(ctx, id, u)
}

func (w watchedTenants) SetStatus(ctx context.Context, id string, s tenant.Status) (*tenant.Tenant, error) {
	defer w.changed()
	return w.Service.SetStatus(ctx, id, s)
}

func (w watchedKeys) PutKey(ctx context.Context, rec *keys.Record) (int64, error) {
	defer w.changed()
	return w.Store.PutKey(ctx, rec)
}

func (w watchedKeys) DeleteKey(ctx context.Context, tenant, id string, revision int64) error {
	defer w.changed()
	return w.Store.DeleteKey(ctx, tenant, id, revision)
}

func (w watchedKeys) PutAlias(ctx context.Context, a *keys.Alias) (int64, error) {
	defer w.changed()
	return w.Store.PutAlias(ctx, a)
}

func (w watchedKeys) DeleteAlias(ctx context.Context, tenant, name string, revision int64) error {
	defer w.changed()
	return w.Store.DeleteAlias(ctx, tenant, name, revision)
}
