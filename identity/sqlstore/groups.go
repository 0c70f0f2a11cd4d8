package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml/identity"
)

// MaxGroupsPerUser is IAM's limit on the groups one user belongs to.
const MaxGroupsPerUser = 10

const groupCols = `g.account_id, g.name, g.path, g.group_id, g.created_at`

func scanGroup(sc interface{ Scan(...any) error }) (*identity.Group, error) {
	g := &identity.Group{}
	if err := sc.Scan(&g.AccountID, &g.Name, &g.Path, &g.ID, timeCol{t: &g.CreatedAt}); err != nil {
		return nil, err
	}
	g.ARN = identity.EntityARN(g.AccountID, "group", g.Path, g.Name)
	return g, nil
}

func (q *txn) findGroup(acct, name string) (*identity.Group, error) {
	g, err := scanGroup(q.row(`SELECT `+groupCols+` FROM iam_groups g WHERE g.account_id = ? AND g.name_lc = ?`, acct, lower(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noSuch("group", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get group: %w", err)
	}
	return g, nil
}

func (q *txn) groups(query string, args ...any) ([]*identity.Group, error) {
	rows, err := q.rows(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	var out []*identity.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return out, nil
}

func groupPage(gs []*identity.Group, n int) ([]*identity.Group, string, error) {
	if len(gs) > n {
		return gs[:n], lower(gs[n-1].Name), nil
	}
	return gs, "", nil
}

// CreateGroup implements identity.Service.
func (s *Store) CreateGroup(ctx context.Context, acct string, g *identity.Group) error {
	if err := g.Prepare(acct, s.Rand, s.Now()); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		_, err := q.exec(`INSERT INTO iam_groups (account_id, name_lc, name, path, group_id, tenant_id, created_at) VALUES (?, ?, ?, ?, ?, '', ?)`,
			acct, lower(g.Name), g.Name, g.Path, g.ID, q.time(g.CreatedAt))
		if s.Dialect.IsUnique(err) {
			return exists("group", g.Name)
		}
		if err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		return nil
	})
}

// GetGroup implements identity.Service.
func (s *Store) GetGroup(ctx context.Context, acct, name string) (*identity.Group, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var g *identity.Group
	err := s.view(ctx, func(q *txn) (err error) {
		g, err = q.findGroup(acct, name)
		return err
	})
	return g, err
}

// ListGroups implements identity.Service.
func (s *Store) ListGroups(ctx context.Context, acct string, opt identity.ListOptions) ([]*identity.Group, string, error) {
	if err := validAccount(acct); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []*identity.Group
	err = s.view(ctx, func(q *txn) error {
		f, fargs := pathFilter("g.path", opt.PathPrefix)
		args := append([]any{acct, lower(opt.Marker)}, fargs...)
		out, err = q.groups(`SELECT `+groupCols+` FROM iam_groups g WHERE g.account_id = ? AND g.name_lc > ?`+f+` ORDER BY g.name_lc LIMIT ?`, append(args, n+1)...)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return groupPage(out, n)
}

// DeleteGroup implements identity.Service.
func (s *Store) DeleteGroup(ctx context.Context, acct, name string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		g, err := q.findGroup(acct, name)
		if err != nil {
			return err
		}
		lc := lower(g.Name)
		for _, c := range []struct{ what, query string }{
			{"members", `SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND group_lc = ?`},
			{"inline policies", `SELECT COUNT(*) FROM iam_inline_policies WHERE account_id = ? AND kind = 'group' AND principal_lc = ?`},
			{"attached policies", `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND kind = 'group' AND principal_lc = ?`},
		} {
			n, err := q.count(c.query, acct, lc)
			if err != nil {
				return fmt.Errorf("delete group: %w", err)
			}
			if n > 0 {
				return identity.Errorf(identity.DeleteConflict, "cannot delete group %s: it still has %s", g.Name, c.what)
			}
		}
		if _, err := q.exec(`DELETE FROM iam_groups WHERE account_id = ? AND name_lc = ?`, acct, lc); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return nil
	})
}

// AddUserToGroup implements identity.Service.
func (s *Store) AddUserToGroup(ctx context.Context, acct, group, user string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if err := q.lock("iam_users", acct, user); err != nil {
			return err
		}
		g, err := q.findGroup(acct, group)
		if err != nil {
			return err
		}
		u, err := q.findUser(acct, user)
		if err != nil {
			return err
		}
		n, err := q.count(`SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND user_lc = ? AND group_lc <> ?`, acct, lower(u.Name), lower(g.Name))
		if err != nil {
			return fmt.Errorf("add user to group: %w", err)
		}
		if n >= MaxGroupsPerUser {
			return identity.Errorf(identity.LimitExceeded, "user %s is already in %d groups", u.Name, n)
		}
		if _, err := q.exec(`INSERT INTO iam_group_members (account_id, group_lc, user_lc, tenant_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			acct, lower(g.Name), lower(u.Name), u.TenantID); err != nil {
			return fmt.Errorf("add user to group: %w", err)
		}
		return nil
	})
}

// RemoveUserFromGroup implements identity.Service.
func (s *Store) RemoveUserFromGroup(ctx context.Context, acct, group, user string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if _, err := q.findGroup(acct, group); err != nil {
			return err
		}
		if _, err := q.findUser(acct, user); err != nil {
			return err
		}
		n, err := q.exec(`DELETE FROM iam_group_members WHERE account_id = ? AND group_lc = ? AND user_lc = ?`, acct, lower(group), lower(user))
		if err != nil {
			return fmt.Errorf("remove user from group: %w", err)
		}
		if n == 0 {
			return identity.Errorf(identity.NoSuchEntity, "user %s is not in group %s", user, group)
		}
		return nil
	})
}

// ListGroupsForUser implements identity.Service.
func (s *Store) ListGroupsForUser(ctx context.Context, acct, user string, opt identity.ListOptions) ([]*identity.Group, string, error) {
	if err := validAccount(acct); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []*identity.Group
	err = s.view(ctx, func(q *txn) error {
		if _, err := q.findUser(acct, user); err != nil {
			return err
		}
		out, err = q.groups(`SELECT `+groupCols+` FROM iam_group_members m JOIN iam_groups g ON g.account_id = m.account_id AND g.name_lc = m.group_lc
			WHERE m.account_id = ? AND m.user_lc = ? AND g.name_lc > ? ORDER BY g.name_lc LIMIT ?`, acct, lower(user), lower(opt.Marker), n+1)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return groupPage(out, n)
}

// ListUsersInGroup implements identity.Service.
func (s *Store) ListUsersInGroup(ctx context.Context, acct, group string, opt identity.ListOptions) ([]*identity.User, string, error) {
	if err := validAccount(acct); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []*identity.User
	err = s.view(ctx, func(q *txn) error {
		if _, err := q.findGroup(acct, group); err != nil {
			return err
		}
		out, err = q.users(`SELECT u.account_id, u.name, u.path, u.user_id, u.tenant_id, u.tags, u.boundary_arn, u.created_at
			FROM iam_group_members m JOIN iam_users u ON u.account_id = m.account_id AND u.name_lc = m.user_lc
			WHERE m.account_id = ? AND m.group_lc = ? AND u.name_lc > ? ORDER BY u.name_lc LIMIT ?`, acct, lower(group), lower(opt.Marker), n+1)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return userPage(out, n)
}
