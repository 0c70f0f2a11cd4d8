// Package sqlstore implements quota.Store over SQL, shared by the SQLite
// and PostgreSQL stores (store/sqlite, store/postgres) through
// store/sqltx. Tiers are platform rows (table quota_tiers); overrides are
// tenant rows (tenant_quotas), each read and written in its tenant's scope
// (RunTenant: on PostgreSQL, row-level security keyed on the tenant).
// Limits are stored as JSON.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/quota"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Store implements quota.Store over SQL.
type Store struct {
	// Run runs fn in one transaction on the operator path (tiers).
	Run func(ctx context.Context, fn func(sqltx.Tx) error) error
	// RunTenant runs fn in one transaction scoped to tenant (overrides);
	// nil means Run.
	RunTenant func(ctx context.Context, tenant string, fn func(sqltx.Tx) error) error
	Dialect   sqltx.Dialect
	Now       func() time.Time
}

var _ quota.Store = (*Store)(nil)

func (s *Store) do(ctx context.Context, fn func(q *sqltx.Q) error) error {
	return s.Run(ctx, func(tx sqltx.Tx) error { return fn(&sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}) })
}

func (s *Store) inTenant(ctx context.Context, tenant string, fn func(q *sqltx.Q) error) error {
	if tenant == "" {
		return tenantml.Errorf(tenantml.EINVALID, "quota overrides need a tenant ID")
	}
	run := s.RunTenant
	if run == nil {
		return s.do(ctx, fn)
	}
	return run(ctx, tenant, func(tx sqltx.Tx) error { return fn(&sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}) })
}

func (s *Store) now() any { return s.Dialect.Time(s.Now().UTC().Truncate(time.Millisecond)) }

// CreateTier implements quota.Store.
func (s *Store) CreateTier(ctx context.Context, t *quota.Tier) error {
	err := s.do(ctx, func(q *sqltx.Q) error {
		now := s.now()
		_, err := q.Exec(`INSERT INTO quota_tiers (name, limits, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?)`,
			t.Name, sqltx.JSON(t.Limits), now, now, t.Version)
		return err
	})
	if s.Dialect.IsUnique(err) {
		return tenantml.Errorf(tenantml.ECONFLICT, "tier %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("insert tier: %w", err)
	}
	return nil
}

// UpdateTier implements quota.Store.
func (s *Store) UpdateTier(ctx context.Context, t *quota.Tier) error {
	return s.do(ctx, func(q *sqltx.Q) error {
		n, err := q.Exec(`UPDATE quota_tiers SET limits = ?, updated_at = ?, version = version + 1 WHERE name = ? AND version = ?`,
			sqltx.JSON(t.Limits), s.now(), t.Name, t.Version)
		if err != nil {
			return fmt.Errorf("update tier: %w", err)
		}
		if n == 1 {
			t.Version++
			return nil
		}
		if _, err := findTier(q, t.Name); err != nil {
			return err
		}
		return tenantml.Errorf(tenantml.ECONFLICT, "tier %q changed concurrently; retry", t.Name)
	})
}

// FindTier implements quota.Store.
func (s *Store) FindTier(ctx context.Context, name string) (*quota.Tier, error) {
	var t *quota.Tier
	err := s.do(ctx, func(q *sqltx.Q) error {
		var err error
		t, err = findTier(q, name)
		return err
	})
	return t, err
}

func findTier(q *sqltx.Q, name string) (*quota.Tier, error) {
	t := &quota.Tier{}
	err := q.Row(`SELECT name, limits, version FROM quota_tiers WHERE name = ?`, name).Scan(&t.Name, sqltx.JSONCol{Dst: &t.Limits}, &t.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, quota.ErrTierNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("find tier: %w", err)
	}
	return t, nil
}

// ListTiers implements quota.Store.
func (s *Store) ListTiers(ctx context.Context) ([]*quota.Tier, error) {
	var out []*quota.Tier
	err := s.do(ctx, func(q *sqltx.Q) error {
		rows, err := q.Rows(`SELECT name, limits, version FROM quota_tiers ORDER BY name LIMIT ?`, quota.MaxTiers+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t := &quota.Tier{}
			if err := rows.Scan(&t.Name, sqltx.JSONCol{Dst: &t.Limits}, &t.Version); err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list tiers: %w", err)
	}
	return out, nil
}

// FindOverrides implements quota.Store.
func (s *Store) FindOverrides(ctx context.Context, tenant string) (quota.Limits, error) {
	var l quota.Limits
	err := s.inTenant(ctx, tenant, func(q *sqltx.Q) error {
		err := q.Row(`SELECT limits FROM tenant_quotas WHERE tenant_id = ?`, tenant).Scan(sqltx.JSONCol{Dst: &l})
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return quota.Limits{}, fmt.Errorf("find quota overrides: %w", err)
	}
	return l, nil
}

// PutOverrides implements quota.Store.
func (s *Store) PutOverrides(ctx context.Context, tenant string, l quota.Limits) error {
	err := s.inTenant(ctx, tenant, func(q *sqltx.Q) error {
		if _, err := q.Exec(`DELETE FROM tenant_quotas WHERE tenant_id = ?`, tenant); err != nil {
			return err
		}
		if l == (quota.Limits{}) {
			return nil
		}
		_, err := q.Exec(`INSERT INTO tenant_quotas (tenant_id, limits, updated_at) VALUES (?, ?, ?)`, tenant, sqltx.JSON(l), s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("put quota overrides: %w", err)
	}
	return nil
}
