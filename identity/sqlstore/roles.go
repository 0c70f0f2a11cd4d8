package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenantml/tenantml/identity"
)

const roleCols = `account_id, name, path, role_id, tenant_id, trust_policy, description, max_session_duration, boundary_arn, tags, created_at, sessions_revoked_before`

func scanRole(sc interface{ Scan(...any) error }) (*identity.Role, error) {
	r := &identity.Role{}
	if err := sc.Scan(&r.AccountID, &r.Name, &r.Path, &r.ID, &r.TenantID, &r.AssumeRolePolicyDocument, &r.Description,
		&r.MaxSessionDuration, &r.PermissionsBoundary, jsonCol{&r.Tags}, timeCol{t: &r.CreatedAt}, timeCol{p: &r.SessionsRevokedBefore}); err != nil {
		return nil, err
	}
	r.ARN = identity.EntityARN(r.AccountID, "role", r.Path, r.Name)
	return r, nil
}

func (q *txn) findRole(acct, name string) (*identity.Role, error) {
	r, err := scanRole(q.row(`SELECT `+roleCols+` FROM iam_roles WHERE account_id = ? AND name_lc = ?`, acct, lower(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noSuch("role", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get role: %w", err)
	}
	return r, nil
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
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var r *identity.Role
	err := s.view(ctx, func(q *txn) (err error) {
		r, err = q.findRole(acct, name)
		return err
	})
	return r, err
}

// ListRoles implements identity.Service.
func (s *Store) ListRoles(ctx context.Context, acct string, opt identity.ListOptions) ([]*identity.Role, string, error) {
	if err := validAccount(acct); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []*identity.Role
	err = s.view(ctx, func(q *txn) error {
		f, fargs := pathFilter("path", opt.PathPrefix)
		args := append([]any{acct, lower(opt.Marker)}, fargs...)
		rows, err := q.rows(`SELECT `+roleCols+` FROM iam_roles WHERE account_id = ? AND name_lc > ?`+f+` ORDER BY name_lc LIMIT ?`, append(args, n+1)...)
		if err != nil {
			return fmt.Errorf("list roles: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRole(rows)
			if err != nil {
				return fmt.Errorf("list roles: %w", err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	if len(out) > n {
		return out[:n], lower(out[n-1].Name), nil
	}
	return out, "", nil
}

// DeleteRole implements identity.Service.
func (s *Store) DeleteRole(ctx context.Context, acct, name string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		r, err := q.findRole(acct, name)
		if err != nil {
			return err
		}
		lc := lower(r.Name)
		for _, c := range []struct{ what, query string }{
			{"inline policies", `SELECT COUNT(*) FROM iam_inline_policies WHERE account_id = ? AND kind = 'role' AND principal_lc = ?`},
			{"attached policies", `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND kind = 'role' AND principal_lc = ?`},
		} {
			n, err := q.count(c.query, acct, lc)
			if err != nil {
				return fmt.Errorf("delete role: %w", err)
			}
			if n > 0 {
				return identity.Errorf(identity.DeleteConflict, "cannot delete role %s: it still has %s", r.Name, c.what)
			}
		}
		if _, err := q.exec(`DELETE FROM iam_roles WHERE account_id = ? AND name_lc = ?`, acct, lc); err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		return nil
	})
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
	return s.retagRole(ctx, acct, name, tags, nil)
}

// UntagRole implements identity.Service.
func (s *Store) UntagRole(ctx context.Context, acct, name string, keys []string) error {
	return s.retagRole(ctx, acct, name, nil, keys)
}

func (s *Store) retagRole(ctx context.Context, acct, name string, set map[string]string, remove []string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		r, err := q.findRole(acct, name)
		if err != nil {
			return err
		}
		tags, err := identity.MergeTags(r.Tags, set, remove)
		if err != nil {
			return err
		}
		if _, err := q.exec(`UPDATE iam_roles SET tags = ? WHERE account_id = ? AND name_lc = ?`, toJSON(tags), acct, lower(name)); err != nil {
			return fmt.Errorf("tag role: %w", err)
		}
		return nil
	})
}

// ListRoleTags implements identity.Service.
func (s *Store) ListRoleTags(ctx context.Context, acct, name string) (map[string]string, error) {
	r, err := s.GetRole(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	return r.Tags, nil
}

// PutRolePermissionsBoundary implements identity.Service.
func (s *Store) PutRolePermissionsBoundary(ctx context.Context, acct, name, policyARN string) error {
	return s.setBoundary(ctx, acct, "role", name, policyARN)
}

// DeleteRolePermissionsBoundary implements identity.Service.
func (s *Store) DeleteRolePermissionsBoundary(ctx context.Context, acct, name string) error {
	return s.setBoundary(ctx, acct, "role", name, "")
}

// RevokeRoleSessions implements identity.Service.
func (s *Store) RevokeRoleSessions(ctx context.Context, acct, name string, before time.Time) error {
	if before.IsZero() {
		return identity.Errorf(identity.ValidationError, "revocation time is required")
	}
	return s.updateRole(ctx, acct, name, `sessions_revoked_before = ?`, s.Dialect.Time(before.UTC()))
}
