// Package sqlstore implements autoscale.Store over SQL, for store/sqlite
// and store/postgres (their 0011_autoscaling.sql migrations create the
// same tables). Every query names the tenant the filter selects: there is
// no read across tenants unless Filter.AllTenants says so.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Store implements autoscale.Store. The adapter that builds it runs the
// transactions (on PostgreSQL, in the operator's or a tenant's scope).
type Store struct {
	// Run runs fn in one transaction, committing when it returns nil.
	Run func(ctx context.Context, fn func(sqltx.Tx) error) error
	// Dialect says how the database differs; its Time must give values
	// that order as the times do.
	Dialect sqltx.Dialect
}

var _ autoscale.Store = (*Store)(nil)

// TextTime formats t for SQLite's TEXT columns: UTC, fixed width, so that
// the text orders as the times do.
func TextTime(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func (s *Store) run(ctx context.Context, fn func(q *sqltx.Q) error) error {
	return s.Run(ctx, func(tx sqltx.Tx) error { return fn(&sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}) })
}

// PutTarget implements autoscale.Store.
func (s *Store) PutTarget(ctx context.Context, t *autoscale.Target) error {
	if t.AccountID == "" {
		return tenantml.Errorf(tenantml.EINTERNAL, "scalable target without an account")
	}
	return s.run(ctx, func(q *sqltx.Q) error {
		rid := t.ResourceID.String()
		// A stale target of another tenant under this name goes, with its
		// policies (ON DELETE CASCADE).
		if _, err := q.Exec(`DELETE FROM autoscaling_targets WHERE account_id = ? AND resource_id = ? AND tenant_id <> ?`, t.AccountID, rid, t.TenantID); err != nil {
			return fmt.Errorf("replace stale target: %w", err)
		}
		if _, err := q.Exec(`INSERT INTO autoscaling_targets (account_id, resource_id, tenant_id, min_capacity, max_capacity, role_arn, arn, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, resource_id) DO UPDATE SET min_capacity = excluded.min_capacity, max_capacity = excluded.max_capacity,
				role_arn = excluded.role_arn`,
			t.AccountID, rid, t.TenantID, t.MinCapacity, t.MaxCapacity, t.RoleARN, t.ARN, s.Dialect.Time(t.CreatedAt)); err != nil {
			return fmt.Errorf("put scalable target: %w", err)
		}
		return nil
	})
}

// DeleteTarget implements autoscale.Store.
func (s *Store) DeleteTarget(ctx context.Context, tenant, account string, r autoscale.ResourceID) error {
	return s.run(ctx, func(q *sqltx.Q) error {
		n, err := q.Exec(`DELETE FROM autoscaling_targets WHERE account_id = ? AND resource_id = ? AND tenant_id = ?`, account, r.String(), tenant)
		if err != nil {
			return fmt.Errorf("delete scalable target: %w", err)
		}
		if n == 0 {
			return tenantml.Errorf(tenantml.ENOTFOUND, "no scalable target %s", r)
		}
		return nil
	})
}

// where is the filter's WHERE clause (without the keyword) and arguments.
func where(f autoscale.Filter, withPolicies bool) (string, []any, error) {
	if err := f.Validate(); err != nil {
		return "", nil, err
	}
	conds, args := []string{"account_id = ?"}, []any{f.AccountID}
	if !f.AllTenants {
		conds, args = append(conds, "tenant_id = ?"), append(args, f.Tenant)
	}
	if len(f.ResourceIDs) > 0 {
		conds = append(conds, "resource_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.ResourceIDs)), ", ")+")")
		for _, r := range f.ResourceIDs {
			args = append(args, r.String())
		}
	}
	if withPolicies && len(f.PolicyNames) > 0 {
		conds = append(conds, "policy_name IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.PolicyNames)), ", ")+")")
		for _, n := range f.PolicyNames {
			args = append(args, n)
		}
	}
	return strings.Join(conds, " AND "), args, nil
}

func limit(f autoscale.Filter) string {
	if f.Limit > 0 {
		return fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return ""
}

// Targets implements autoscale.Store.
func (s *Store) Targets(ctx context.Context, f autoscale.Filter) ([]*autoscale.Target, error) {
	cond, args, err := where(f, false)
	if err != nil {
		return nil, err
	}
	var out []*autoscale.Target
	err = s.run(ctx, func(q *sqltx.Q) error {
		rows, err := q.Rows(`SELECT account_id, resource_id, tenant_id, min_capacity, max_capacity, role_arn, arn, created_at
			FROM autoscaling_targets WHERE `+cond+` ORDER BY resource_id`+limit(f), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t := &autoscale.Target{}
			var rid string
			if err := rows.Scan(&t.AccountID, &rid, &t.TenantID, &t.MinCapacity, &t.MaxCapacity, &t.RoleARN, &t.ARN, sqltx.TimeCol{T: &t.CreatedAt}); err != nil {
				return err
			}
			if t.ResourceID, err = autoscale.ParseResourceID(rid); err != nil {
				return fmt.Errorf("stored resource id %q: %w", rid, err)
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list scalable targets: %w", err)
	}
	return out, nil
}

// PutPolicy implements autoscale.Store.
func (s *Store) PutPolicy(ctx context.Context, p *autoscale.Policy) error {
	cfg, err := json.Marshal(p.Config)
	if err != nil {
		return fmt.Errorf("encode scaling policy: %w", err)
	}
	return s.run(ctx, func(q *sqltx.Q) error {
		rid := p.ResourceID.String()
		n, err := q.Count(`SELECT COUNT(*) FROM autoscaling_targets WHERE account_id = ? AND resource_id = ? AND tenant_id = ?`, p.AccountID, rid, p.TenantID)
		if err != nil {
			return fmt.Errorf("find scalable target: %w", err)
		}
		if n == 0 {
			return tenantml.Errorf(tenantml.ENOTFOUND, "no scalable target %s", rid)
		}
		if _, err := q.Exec(`INSERT INTO autoscaling_policies (account_id, resource_id, policy_name, tenant_id, arn, policy_type, config, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, resource_id, policy_name) DO UPDATE SET policy_type = excluded.policy_type, config = excluded.config`,
			p.AccountID, rid, p.Name, p.TenantID, p.ARN, p.Type, string(cfg), s.Dialect.Time(p.CreatedAt)); err != nil {
			return fmt.Errorf("put scaling policy: %w", err)
		}
		return nil
	})
}

// DeletePolicy implements autoscale.Store.
func (s *Store) DeletePolicy(ctx context.Context, tenant, account string, r autoscale.ResourceID, name string) error {
	return s.run(ctx, func(q *sqltx.Q) error {
		n, err := q.Exec(`DELETE FROM autoscaling_policies WHERE account_id = ? AND resource_id = ? AND policy_name = ? AND tenant_id = ?`, account, r.String(), name, tenant)
		if err != nil {
			return fmt.Errorf("delete scaling policy: %w", err)
		}
		if n == 0 {
			return tenantml.Errorf(tenantml.ENOTFOUND, "no scaling policy %s of %s", name, r)
		}
		return nil
	})
}

// Policies implements autoscale.Store.
func (s *Store) Policies(ctx context.Context, f autoscale.Filter) ([]*autoscale.Policy, error) {
	cond, args, err := where(f, true)
	if err != nil {
		return nil, err
	}
	var out []*autoscale.Policy
	err = s.run(ctx, func(q *sqltx.Q) error {
		rows, err := q.Rows(`SELECT account_id, resource_id, policy_name, tenant_id, arn, policy_type, config, created_at
			FROM autoscaling_policies WHERE `+cond+` ORDER BY resource_id, policy_name`+limit(f), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := &autoscale.Policy{}
			var rid, cfg string
			if err := rows.Scan(&p.AccountID, &rid, &p.Name, &p.TenantID, &p.ARN, &p.Type, &cfg, sqltx.TimeCol{T: &p.CreatedAt}); err != nil {
				return err
			}
			if p.ResourceID, err = autoscale.ParseResourceID(rid); err != nil {
				return fmt.Errorf("stored resource id %q: %w", rid, err)
			}
			if err := json.Unmarshal([]byte(cfg), &p.Config); err != nil {
				return fmt.Errorf("stored policy %s: %w", p.Name, err)
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list scaling policies: %w", err)
	}
	return out, nil
}

// AddActivity implements autoscale.Store.
func (s *Store) AddActivity(ctx context.Context, a *autoscale.Activity) error {
	if a.AccountID == "" || a.ID == "" {
		return tenantml.Errorf(tenantml.EINTERNAL, "scaling activity without an account or ID")
	}
	return s.run(ctx, func(q *sqltx.Q) error {
		_, err := q.Exec(`INSERT INTO autoscaling_activities (account_id, activity_id, tenant_id, resource_id, from_count, to_count, description, cause,
			status_code, status_message, start_time, end_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.AccountID, a.ID, a.TenantID, a.ResourceID.String(), a.From, a.To, a.Description, a.Cause, a.StatusCode, a.StatusMessage,
			s.Dialect.Time(a.StartTime), s.Dialect.Time(a.EndTime))
		if err != nil {
			return fmt.Errorf("add scaling activity: %w", err)
		}
		return nil
	})
}

// Activities implements autoscale.Store.
func (s *Store) Activities(ctx context.Context, f autoscale.Filter) ([]*autoscale.Activity, error) {
	cond, args, err := where(f, false)
	if err != nil {
		return nil, err
	}
	var out []*autoscale.Activity
	err = s.run(ctx, func(q *sqltx.Q) error {
		rows, err := q.Rows(`SELECT account_id, activity_id, tenant_id, resource_id, from_count, to_count, description, cause, status_code, status_message,
			start_time, end_time FROM autoscaling_activities WHERE `+cond+` ORDER BY start_time DESC, activity_id`+limit(f), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a := &autoscale.Activity{}
			var rid string
			if err := rows.Scan(&a.AccountID, &a.ID, &a.TenantID, &rid, &a.From, &a.To, &a.Description, &a.Cause, &a.StatusCode, &a.StatusMessage,
				sqltx.TimeCol{T: &a.StartTime}, sqltx.TimeCol{T: &a.EndTime}); err != nil {
				return err
			}
			if a.ResourceID, err = autoscale.ParseResourceID(rid); err != nil {
				return fmt.Errorf("stored resource id %q: %w", rid, err)
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("list scaling activities: %w", err)
	}
	return out, nil
}
