package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantml/tenantml/identity"
)

// roles is the iam_roles table.
func roles() entity[*identity.Role] {
	return entity[*identity.Role]{
		what:  "role",
		table: "iam_roles",
		alias: "r",
		cols: `r.account_id, r.name, r.path, r.role_id, r.tenant_id, r.trust_policy, r.description, r.max_session_duration, r.boundary_arn, r.tags,
			r.created_at, r.sessions_revoked_before`,
		scan: scanRole,
		name: func(r *identity.Role) string { return r.Name },
		tags: func(r *identity.Role) map[string]string { return r.Tags },
		dependents: []dependent{
			{"inline policies", `SELECT COUNT(*) FROM iam_inline_policies WHERE account_id = ? AND kind = 'role' AND principal_lc = ?`},
			{"attached policies", `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND kind = 'role' AND principal_lc = ?`},
		},
	}
}

func scanRole(sc scanner) (*identity.Role, error) {
	r := &identity.Role{}
	if err := sc.Scan(&r.AccountID, &r.Name, &r.Path, &r.ID, &r.TenantID, &r.AssumeRolePolicyDocument, &r.Description,
		&r.MaxSessionDuration, &r.PermissionsBoundary, jsonCol{&r.Tags}, timeCol{t: &r.CreatedAt}, timeCol{p: &r.SessionsRevokedBefore}); err != nil {
		return nil, err
	}
	r.ARN = identity.EntityARN(r.AccountID, "role", r.Path, r.Name)
	return r, nil
}

func (q *txn) findRole(acct, name string) (*identity.Role, error) {
	return find(q, roles(), acct, name)
}

// CreateRole implements identity.Service.
func (s *Store) CreateRole(ctx context.Context, acct string, r *identity.Role) error {
	if err := r.Prepare(acct, s.Rand, s.Now()); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if r.PermissionsBoundary != "" {
			if err := q.policyExists(acct, r.PermissionsBoundary); err != nil {
				return err
			}
		}
		_, err := q.exec(`INSERT INTO iam_roles (account_id, name_lc, name, path, role_id, tenant_id, trust_policy, description, max_session_duration, boundary_arn, tags, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			acct, lower(r.Name), r.Name, r.Path, r.ID, r.TenantID, r.AssumeRolePolicyDocument, r.Description, r.MaxSessionDuration,
			r.PermissionsBoundary, toJSON(r.Tags), q.time(r.CreatedAt))
		if s.Dialect.IsUnique(err) {
			return exists("role", r.Name)
		}
		if err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		return nil
	})
}

// GetRole implements identity.Service.
func (s *Store) GetRole(ctx context.Context, acct, name string) (*identity.Role, error) {
	return get(ctx, s, roles(), acct, name)
}

// ListRoles implements identity.Service.
func (s *Store) ListRoles(ctx context.Context, acct string, opt identity.ListOptions) ([]*identity.Role, string, error) {
	return list(ctx, s, roles(), acct, opt)
}

// DeleteRole implements identity.Service.
func (s *Store) DeleteRole(ctx context.Context, acct, name string) error {
	return remove(ctx, s, roles(), acct, name)
}

// updateRole runs one UPDATE of a role, NoSuchEntity when it is missing.
func (s *Store) updateRole(ctx context.Context, acct, name, set string, args ...any) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		n, err := q.exec(`UPDATE iam_roles SET `+set+` WHERE account_id = ? AND name_lc = ?`, append(args, acct, lower(name))...)
		if err != nil {
			return fmt.Errorf("update role: %w", err)
		}
		if n == 0 {
			return noSuch("role", name)
		}
		return nil
	})
}

// UpdateAssumeRolePolicy implements identity.Service.
func (s *Store) UpdateAssumeRolePolicy(ctx context.Context, acct, name, document string) error {
	if err := identity.ValidateDocument(identity.DocTrust, document); err != nil {
		return err
	}
	return s.updateRole(ctx, acct, name, `trust_policy = ?`, document)
}

// UpdateRole implements identity.Service.
func (s *Store) UpdateRole(ctx context.Context, acct, name, description string, maxSessionDuration int) error {
	if len(description) > identity.MaxDescriptionLength {
		return identity.Errorf(identity.ValidationError, "description exceeds %d characters", identity.MaxDescriptionLength)
	}
	if maxSessionDuration == 0 {
		return s.updateRole(ctx, acct, name, `description = ?`, description)
	}
	if err := identity.ValidateSessionDuration(maxSessionDuration); err != nil {
		return err
	}
	return s.updateRole(ctx, acct, name, `description = ?, max_session_duration = ?`, description, maxSessionDuration)
}

// TagRole implements identity.Service.
func (s *Store) TagRole(ctx context.Context, acct, name string, tags map[string]string) error {
	return retag(ctx, s, roles(), acct, name, tags, nil)
}

// UntagRole implements identity.Service.
func (s *Store) UntagRole(ctx context.Context, acct, name string, keys []string) error {
	return retag(ctx, s, roles(), acct, name, nil, keys)
}

// ListRoleTags implements identity.Service.
func (s *Store) ListRoleTags(ctx context.Context, acct, name string) (map[string]string, error) {
	return listTags(ctx, s, roles(), acct, name)
}

// PutRolePermissionsBoundary implements identity.Service.
func (s *Store) PutRolePermissionsBoundary(ctx context.Context, acct, name, policyARN string) error {
	return setBoundary(ctx, s, roles(), acct, name, policyARN)
}

// DeleteRolePermissionsBoundary implements identity.Service.
func (s *Store) DeleteRolePermissionsBoundary(ctx context.Context, acct, name string) error {
	return setBoundary(ctx, s, roles(), acct, name, "")
}

// RevokeRoleSessions implements identity.Service.
func (s *Store) RevokeRoleSessions(ctx context.Context, acct, name string, before time.Time) error {
	if before.IsZero() {
		return identity.Errorf(identity.ValidationError, "revocation time is required")
	}
	return s.updateRole(ctx, acct, name, `sessions_revoked_before = ?`, s.Dialect.Time(before.UTC()))
}
