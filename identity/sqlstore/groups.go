package sqlstore

import (
	"context"
	"fmt"

	"github.com/tenantml/tenantml/identity"
)

// MaxGroupsPerUser is IAM's limit on the groups one user belongs to.
const MaxGroupsPerUser = 10

// groups is the iam_groups table.
func groups() entity[*identity.Group] {
	return entity[*identity.Group]{
		what:  "group",
		table: "iam_groups",
		alias: "g",
		cols:  `g.account_id, g.name, g.path, g.group_id, g.created_at`,
		scan:  scanGroup,
		name:  func(g *identity.Group) string { return g.Name },
		dependents: []dependent{
			{"members", `SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND group_lc = ?`},
			{"inline policies", `SELECT COUNT(*) FROM iam_inline_policies WHERE account_id = ? AND kind = 'group' AND principal_lc = ?`},
			{"attached policies", `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND kind = 'group' AND principal_lc = ?`},
		},
	}
}

func scanGroup(sc scanner) (*identity.Group, error) {
	g := &identity.Group{}
	if err := sc.Scan(&g.AccountID, &g.Name, &g.Path, &g.ID, timeCol{t: &g.CreatedAt}); err != nil {
		return nil, err
	}
	g.ARN = identity.EntityARN(g.AccountID, "group", g.Path, g.Name)
	return g, nil
}

func (q *txn) findGroup(acct, name string) (*identity.Group, error) {
	return find(q, groups(), acct, name)
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
	return get(ctx, s, groups(), acct, name)
}

// ListGroups implements identity.Service.
func (s *Store) ListGroups(ctx context.Context, acct string, opt identity.ListOptions) ([]*identity.Group, string, error) {
	return list(ctx, s, groups(), acct, opt)
}

// DeleteGroup implements identity.Service.
func (s *Store) DeleteGroup(ctx context.Context, acct, name string) error {
	return remove(ctx, s, groups(), acct, name)
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
		out, err = all(q, groups(), `SELECT `+groups().cols+` FROM iam_group_members m JOIN iam_groups g ON g.account_id = m.account_id AND g.name_lc = m.group_lc
			WHERE m.account_id = ? AND m.user_lc = ? AND g.name_lc > ? ORDER BY g.name_lc LIMIT ?`, acct, lower(user), lower(opt.Marker), n+1)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return cut(groups(), out, n)
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
		out, err = all(q, users(), `SELECT `+users().cols+`
			FROM iam_group_members m JOIN iam_users u ON u.account_id = m.account_id AND u.name_lc = m.user_lc
			WHERE m.account_id = ? AND m.group_lc = ? AND u.name_lc > ? ORDER BY u.name_lc LIMIT ?`, acct, lower(group), lower(opt.Marker), n+1)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return cut(users(), out, n)
}
