package sqlstore

import (
	"context"
	"fmt"

	"github.com/tenantml/tenantml/identity"
)

// users is the iam_users table.
func users() entity[*identity.User] {
	return entity[*identity.User]{
		what:  "user",
		table: "iam_users",
		alias: "u",
		cols:  `u.account_id, u.name, u.path, u.user_id, u.tenant_id, u.tags, u.boundary_arn, u.created_at`,
		scan:  scanUser,
		name:  func(u *identity.User) string { return u.Name },
		tags:  func(u *identity.User) map[string]string { return u.Tags },
		dependents: []dependent{
			{"access keys", `SELECT COUNT(*) FROM iam_access_keys WHERE account_id = ? AND user_lc = ?`},
			{"inline policies", `SELECT COUNT(*) FROM iam_inline_policies WHERE account_id = ? AND kind = 'user' AND principal_lc = ?`},
			{"attached policies", `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND kind = 'user' AND principal_lc = ?`},
			{"group memberships", `SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND user_lc = ?`},
		},
	}
}

func scanUser(sc scanner) (*identity.User, error) {
	u := &identity.User{}
	if err := sc.Scan(&u.AccountID, &u.Name, &u.Path, &u.ID, &u.TenantID, jsonCol{&u.Tags}, &u.PermissionsBoundary, timeCol{t: &u.CreatedAt}); err != nil {
		return nil, err
	}
	u.ARN = identity.EntityARN(u.AccountID, "user", u.Path, u.Name)
	return u, nil
}

func (q *txn) findUser(acct, name string) (*identity.User, error) {
	return find(q, users(), acct, name)
}

// CreateUser implements identity.Service.
func (s *Store) CreateUser(ctx context.Context, acct string, u *identity.User) error {
	if err := u.Prepare(acct, s.Rand, s.Now()); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if u.PermissionsBoundary != "" {
			if err := q.policyExists(acct, u.PermissionsBoundary); err != nil {
				return err
			}
		}
		_, err := q.exec(`INSERT INTO iam_users (account_id, name_lc, name, path, user_id, tenant_id, tags, boundary_arn, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			acct, lower(u.Name), u.Name, u.Path, u.ID, u.TenantID, toJSON(u.Tags), u.PermissionsBoundary, q.time(u.CreatedAt))
		if s.Dialect.IsUnique(err) {
			return exists("user", u.Name)
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return nil
	})
}

// GetUser implements identity.Service.
func (s *Store) GetUser(ctx context.Context, acct, name string) (*identity.User, error) {
	return get(ctx, s, users(), acct, name)
}

// ListUsers implements identity.Service.
func (s *Store) ListUsers(ctx context.Context, acct string, opt identity.ListOptions) ([]*identity.User, string, error) {
	return list(ctx, s, users(), acct, opt)
}

// DeleteUser implements identity.Service.
func (s *Store) DeleteUser(ctx context.Context, acct, name string) error {
	return remove(ctx, s, users(), acct, name)
}

// TagUser implements identity.Service.
func (s *Store) TagUser(ctx context.Context, acct, name string, tags map[string]string) error {
	return retag(ctx, s, users(), acct, name, tags, nil)
}

// UntagUser implements identity.Service.
func (s *Store) UntagUser(ctx context.Context, acct, name string, keys []string) error {
	return retag(ctx, s, users(), acct, name, nil, keys)
}

// ListUserTags implements identity.Service.
func (s *Store) ListUserTags(ctx context.Context, acct, name string) (map[string]string, error) {
	return listTags(ctx, s, users(), acct, name)
}

// PutUserPermissionsBoundary implements identity.Service.
func (s *Store) PutUserPermissionsBoundary(ctx context.Context, acct, name, policyARN string) error {
	return setBoundary(ctx, s, users(), acct, name, policyARN)
}

// DeleteUserPermissionsBoundary implements identity.Service.
func (s *Store) DeleteUserPermissionsBoundary(ctx context.Context, acct, name string) error {
	return setBoundary(ctx, s, users(), acct, name, "")
}

// setBoundary sets (or, with an empty ARN, clears) the permissions boundary
// of a user or role.
func setBoundary[T any](ctx context.Context, s *Store, e entity[T], acct, name, policyARN string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if policyARN != "" {
			if err := q.policyExists(acct, policyARN); err != nil {
				return err
			}
		}
		n, err := q.exec(`UPDATE `+e.table+` SET boundary_arn = ? WHERE account_id = ? AND name_lc = ?`, policyARN, acct, lower(name))
		if err != nil {
			return fmt.Errorf("set permissions boundary: %w", err)
		}
		if n == 0 {
			return noSuch(e.what, name)
		}
		return nil
	})
}
