package sqlstore

import (
	"context"
	"maps"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/store/sqltx"
)

const groupCols = `account_id, name, arn, tenant_id, created_at, description, policy, tags, created_by, latest_version`

func scanGroup(sc sqltx.Row) (*registry.Group, error) {
	g := &registry.Group{}
	var by userJSON
	if err := sc.Scan(&g.AccountID, &g.Name, &g.ARN, &g.Tenant, sqltx.TimeCol{T: &g.CreatedAt}, &g.Description, &g.Policy,
		sqltx.JSONCol{Dst: &g.Tags}, sqltx.JSONCol{Dst: &by}, &g.LatestVersion); err != nil {
		return nil, err
	}
	g.CreatedBy = registry.UserContext(by)
	if len(g.Tags) == 0 {
		g.Tags = nil
	}
	return g, nil
}

// checkGroup validates what the store relies on in a group to create.
func checkGroup(g *registry.Group) error {
	if err := checkAccount(g.AccountID); err != nil {
		return err
	}
	if err := registry.ValidateGroupName(g.Name); err != nil {
		return err
	}
	a, err := arn.Parse(g.ARN)
	if err != nil || a.Service != "sagemaker" || a.AccountID != g.AccountID || a.Resource != string(registry.KindGroup)+"/"+lower(g.Name) {
		return tenantml.Errorf(tenantml.EINVALID, "ARN %q is not the ARN of model package group %s of account %s", truncate(g.ARN), g.Name, g.AccountID)
	}
	if err := checkTenant(g.Tenant); err != nil {
		return err
	}
	return tagsOK(g.Tags, g.Tenant)
}

// CreateGroup implements registry.Store.
func (s *Store) CreateGroup(ctx context.Context, g *registry.Group) error {
	if g == nil {
		return tenantml.Errorf(tenantml.EINVALID, "group is required")
	}
	if err := checkGroup(g); err != nil {
		return err
	}
	created := s.now()
	err := s.do(ctx, func(q *txn) error {
		_, err := q.Exec(`INSERT INTO registry_groups (account_id, name_lc, name, arn, tenant_id, created_at, description, policy, tags, created_by, latest_version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			g.AccountID, lower(g.Name), g.Name, g.ARN, g.Tenant, s.timeArg(created), g.Description, g.Policy,
			sqltx.JSON(nonNil(g.Tags)), sqltx.JSON(userJSON(g.CreatedBy)))
		if s.Dialect.IsUnique(err) {
			return tenantml.Errorf(tenantml.ECONFLICT, "model package group %q already exists", g.Name)
		}
		return wrap("create model package group", err)
	})
	if err != nil {
		return err
	}
	g.CreatedAt, g.LatestVersion = created, 0
	return nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// GetGroup implements registry.Store.
func (s *Store) GetGroup(ctx context.Context, acct, name string) (*registry.Group, error) {
	if err := checkAccount(acct); err != nil {
		return nil, err
	}
	var g *registry.Group
	err := s.view(ctx, func(q *txn) (err error) {
		g, err = q.group(acct, name, "")
		return err
	})
	return g, err
}

// group reads a group, with suffix (a row lock) appended to the query.
func (q *txn) group(acct, name, suffix string) (*registry.Group, error) {
	g, err := scanGroup(q.Row(`SELECT `+groupCols+` FROM registry_groups WHERE account_id = ? AND name_lc = ?`+suffix, acct, lower(name)))
	if noRows(err) {
		return nil, groupNotFound(name)
	}
	return g, wrap("get model package group", err)
}

// UpdateGroup implements registry.Store.
func (s *Store) UpdateGroup(ctx context.Context, acct, name string, fn func(*registry.Group) error) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		g, err := q.group(acct, name, s.forUpdate())
		if err != nil {
			return err
		}
		before := maps.Clone(g.Tags)
		if err := fn(g); err != nil {
			return err
		}
		if err := fixedTenantTag(before, g.Tags); err != nil {
			return err
		}
		if err := tagsOK(g.Tags, g.Tenant); err != nil {
			return err
		}
		n, err := q.Exec(`UPDATE registry_groups SET description = ?, policy = ?, tags = ? WHERE account_id = ? AND name_lc = ?`,
			g.Description, g.Policy, sqltx.JSON(nonNil(g.Tags)), acct, lower(name))
		if err != nil {
			return wrap("update model package group", err)
		}
		if n == 0 {
			return readOnly("model package group " + truncate(name))
		}
		return nil
	})
}

// DeleteGroup implements registry.Store.
func (s *Store) DeleteGroup(ctx context.Context, acct, name string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		// Lock the group first: a package registered concurrently waits
		// for this transaction (or this one sees it).
		if _, err := q.group(acct, name, s.forUpdate()); err != nil {
			return err
		}
		n, err := q.Count(`SELECT COUNT(*) FROM registry_packages WHERE account_id = ? AND group_lc = ?`, acct, lower(name))
		if err != nil {
			return wrap("count model packages", err)
		}
		if n > 0 {
			return tenantml.Errorf(tenantml.ECONFLICT, "model package group %s holds %d model packages", truncate(name), n)
		}
		d, err := q.Exec(`DELETE FROM registry_groups WHERE account_id = ? AND name_lc = ?`, acct, lower(name))
		if err != nil {
			return wrap("delete model package group", err)
		}
		if d == 0 {
			return readOnly("model package group " + truncate(name))
		}
		return nil
	})
}

// ListGroups implements registry.Store.
func (s *Store) ListGroups(ctx context.Context, acct string, f registry.GroupFilter) ([]*registry.Group, string, error) {
	limit, err := checkList(acct, f.ListFilter)
	if err != nil {
		return nil, "", err
	}
	lq := s.newListQuery(acct, f.ListFilter)
	if f.NameContains != "" {
		lq.where("name_lc LIKE ?", "%"+lower(f.NameContains)+"%")
	}
	keys := []string{"name_lc"}
	if err := lq.page(kindGroups, keys, f.ListFilter); err != nil {
		return nil, "", err
	}
	var out []*registry.Group
	next := ""
	err = s.view(ctx, func(q *txn) error {
		rows, err := q.Rows(`SELECT `+groupCols+` FROM registry_groups WHERE `+lq.cond()+` ORDER BY `+lq.order(keys, f.ListFilter)+` LIMIT ?`, append(lq.args, limit+1)...)
		if err != nil {
			return wrap("list model package groups", err)
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				return wrap("list model package groups", err)
			}
			out = append(out, g)
		}
		return wrap("list model package groups", rows.Err())
	})
	if err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = cursor{Kind: kindGroups, ByTime: f.SortByCreationTime, Desc: f.Descending, Name: lower(last.Name), Created: last.CreatedAt.UnixMilli()}.token()
	}
	return out, next, nil
}
