package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml/identity"
)

const userCols = `account_id, name, path, user_id, tenant_id, tags, boundary_arn, created_at`

func scanUser(sc interface{ Scan(...any) error }) (*identity.User, error) {
	u := &identity.User{}
	if err := sc.Scan(&u.AccountID, &u.Name, &u.Path, &u.ID, &u.TenantID, jsonCol{&u.Tags}, &u.PermissionsBoundary, timeCol{t: &u.CreatedAt}); err != nil {
		return nil, err
	}
	u.ARN = identity.EntityARN(u.AccountID, "user", u.Path, u.Name)
	return u, nil
}

func (q *txn) findUser(acct, name string) (*identity.User, error) {
	u, err := scanUser(q.row(`SELECT `+userCols+` FROM iam_users WHERE account_id = ? AND name_lc = ?`, acct, lower(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noSuch("user", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
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
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var u *identity.User
	err := s.view(ctx, func(q *txn) (err error) {
		u, err = q.findUser(acct, name)
		return err
	})
	return u, err
}

// ListUsers implements identity.Service.
func (s *Store) ListUsers(ctx context.Context, acct string, opt identity.ListOptions) ([]*identity.User, string, error) {
	if err := validAccount(acct); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []*identity.User
	err = s.view(ctx, func(q *txn) error {
		f, fargs := pathFilter("path", opt.PathPrefix)
		args := append([]any{acct, lower(opt.Marker)}, fargs...)
		out, err = q.users(`SELECT `+userCols+` FROM iam_users WHERE account_id = ? AND name_lc > ?`+f+` ORDER BY name_lc LIMIT ?`, append(args, n+1)...)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return userPage(out, n)
}

func userPage(us []*identity.User, n int) ([]*identity.User, string, error) {
	if len(us) > n {
		return us[:n], lower(us[n-1].Name), nil
	}
	return us, "", nil
}

func (q *txn) users(query string, args ...any) ([]*identity.User, error) {
	rows, err := q.rows(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*identity.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser implements identity.Service.
func (s *Store) DeleteUser(ctx context.Context, acct, name string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		u, err := q.findUser(acct, name)
		if err != nil {
			return err
		}
		lc := lower(u.Name)
		for _, c := range []struct{ what, query string }{
			{"access keys", `SELECT COUNT(*) FROM iam_access_keys WHERE account_id = ? AND user_lc = ?`},
			{"inline policies", `SELECT COUNT(*) FROM iam_inline_policies WHERE account_id = ? AND kind = 'user' AND principal_lc = ?`},
			{"attached policies", `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND kind = 'user' AND principal_lc = ?`},
			{"group memberships", `SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND user_lc = ?`},
		} {
			n, err := q.count(c.query, acct, lc)
			if err != nil {
				return fmt.Errorf("delete user: %w", err)
			}
			if n > 0 {
				return identity.Errorf(identity.DeleteConflict, "cannot delete user %s: it still has %s", u.Name, c.what)
			}
		}
		if _, err := q.exec(`DELETE FROM iam_users WHERE account_id = ? AND name_lc = ?`, acct, lc); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return nil
	})
}

// TagUser implements identity.Service.
func (s *Store) TagUser(ctx context.Context, acct, name string, tags map[string]string) error {
	return s.retagUser(ctx, acct, name, tags, nil)
}

// UntagUser implements identity.Service.
func (s *Store) UntagUser(ctx context.Context, acct, name string, keys []string) error {
	return s.retagUser(ctx, acct, name, nil, keys)
}

func (s *Store) retagUser(ctx context.Context, acct, name string, set map[string]string, remove []string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		u, err := q.findUser(acct, name)
		if err != nil {
			return err
		}
		tags, err := identity.MergeTags(u.Tags, set, remove)
		if err != nil {
			return err
		}
		if _, err := q.exec(`UPDATE iam_users SET tags = ? WHERE account_id = ? AND name_lc = ?`, toJSON(tags), acct, lower(name)); err != nil {
			return fmt.Errorf("tag user: %w", err)
		}
		return nil
	})
}

// ListUserTags implements identity.Service.
func (s *Store) ListUserTags(ctx context.Context, acct, name string) (map[string]string, error) {
	u, err := s.GetUser(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	return u.Tags, nil
}

// PutUserPermissionsBoundary implements identity.Service.
func (s *Store) PutUserPermissionsBoundary(ctx context.Context, acct, name, policyARN string) error {
	return s.setBoundary(ctx, acct, "user", name, policyARN)
}

// DeleteUserPermissionsBoundary implements identity.Service.
func (s *Store) DeleteUserPermissionsBoundary(ctx context.Context, acct, name string) error {
	return s.setBoundary(ctx, acct, "user", name, "")
}

// setBoundary sets (or, with an empty ARN, clears) the boundary of a user
// or role.
func (s *Store) setBoundary(ctx context.Context, acct, kind, name, policyARN string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	table := map[string]string{"user": "iam_users", "role": "iam_roles"}[kind]
	return s.do(ctx, func(q *txn) error {
		if policyARN != "" {
			if err := q.policyExists(acct, policyARN); err != nil {
				return err
			}
		}
		n, err := q.exec(`UPDATE `+table+` SET boundary_arn = ? WHERE account_id = ? AND name_lc = ?`, policyARN, acct, lower(name))
		if err != nil {
			return fmt.Errorf("set permissions boundary: %w", err)
		}
		if n == 0 {
			return noSuch(kind, name)
		}
		return nil
	})
}
