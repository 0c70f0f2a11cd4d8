package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/tenant"
)

// TenantService implements tenant.Service on SQLite.
type TenantService struct{ db *DB }

var _ tenant.Service = (*TenantService)(nil)

const tenantColumns = `tenant_id, display_name, isolation, tier, home_region, tags, status, created_at, updated_at, deletion_requested_at, version`

// CreateTenant validates and inserts t, filling status, timestamps and
// version.
func (s *TenantService) CreateTenant(ctx context.Context, t *tenant.Tenant) error {
	if t.Tier == "" {
		t.Tier = tenant.DefaultTier
	}
	if err := t.Validate(); err != nil {
		return err
	}
	now := s.db.Now().UTC()
	t.Status, t.CreatedAt, t.UpdatedAt, t.Version, t.DeletionRequestedAt = tenant.Active, now, now, 1, nil
	tags, err := json.Marshal(nonNil(t.Tags))
	if err != nil {
		return fmt.Errorf("encode tags: %w", err)
	}
	_, err = s.db.db.ExecContext(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
		t.ID, t.DisplayName, string(t.Isolation), t.Tier, t.HomeRegion, string(tags), string(t.Status),
		formatTime(now), formatTime(now), t.Version)
	if isUniqueViolation(err) {
		return tenantml.Errorf(tenantml.ECONFLICT, "tenant %q already exists", t.ID)
	}
	if err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	return nil
}

// FindTenant returns the tenant with id, or ENOTFOUND.
func (s *TenantService) FindTenant(ctx context.Context, id string) (*tenant.Tenant, error) {
	return findTenant(ctx, s.db.db, id)
}

// ListTenants is the operator-wide listing, ordered by ID.
func (s *TenantService) ListTenants(ctx context.Context, f tenant.Filter) ([]*tenant.Tenant, string, error) {
	limit, err := f.PageSize()
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"tenant_id > ?"}, []any{f.After}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Isolation != "" {
		where, args = append(where, "isolation = ?"), append(args, string(f.Isolation))
	}
	args = append(args, limit+1)
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+strings.Join(where, " AND ")+` ORDER BY tenant_id LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []*tenant.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list tenants: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// UpdateTenant applies u to the tenant with id.
func (s *TenantService) UpdateTenant(ctx context.Context, id string, u tenant.Update) (*tenant.Tenant, error) {
	return s.modify(ctx, id, u.Apply)
}

// SetStatus moves the tenant with id through its lifecycle.
func (s *TenantService) SetStatus(ctx context.Context, id string, to tenant.Status) (*tenant.Tenant, error) {
	return s.modify(ctx, id, func(t *tenant.Tenant) error { return tenant.Transition(t, to, s.db.Now()) })
}

// modify reads, changes and writes one tenant in a single transaction.
func (s *TenantService) modify(ctx context.Context, id string, change func(*tenant.Tenant) error) (*tenant.Tenant, error) {
	var out *tenant.Tenant
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		t, err := findTenant(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := change(t); err != nil {
			return err
		}
		tags, err := json.Marshal(nonNil(t.Tags))
		if err != nil {
			return fmt.Errorf("encode tags: %w", err)
		}
		t.UpdatedAt = s.db.Now().UTC()
		var deletion any
		if t.DeletionRequestedAt != nil {
			deletion = formatTime(*t.DeletionRequestedAt)
		}
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET display_name = ?, isolation = ?, tier = ?, tags = ?, status = ?, updated_at = ?, deletion_requested_at = ?, version = version + 1 WHERE tenant_id = ? AND version = ?`,
			t.DisplayName, string(t.Isolation), t.Tier, string(tags), string(t.Status), formatTime(t.UpdatedAt), deletion, t.ID, t.Version)
		if err != nil {
			return fmt.Errorf("update tenant: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return tenantml.Errorf(tenantml.ECONFLICT, "tenant %q changed concurrently; retry", id)
		}
		t.Version++
		out = t
		return nil
	})
	return out, err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func findTenant(ctx context.Context, q queryer, id string) (*tenant.Tenant, error) {
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tenant.ErrNotFound(id)
	}
	return t, err
}

type scanner interface{ Scan(dest ...any) error }

func scanTenant(row scanner) (*tenant.Tenant, error) {
	var (
		t                 tenant.Tenant
		isolation, status string
		tags              string
		created, updated  string
		deletion          sql.NullString
	)
	if err := row.Scan(&t.ID, &t.DisplayName, &isolation, &t.Tier, &t.HomeRegion, &tags, &status, &created, &updated, &deletion, &t.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("scan tenant: %w", err)
	}
	t.Isolation, t.Status = tenant.Isolation(isolation), tenant.Status(status)
	if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of %s: %w", t.ID, err)
	}
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("decode created_at of %s: %w", t.ID, err)
	}
	if t.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, fmt.Errorf("decode updated_at of %s: %w", t.ID, err)
	}
	if deletion.Valid {
		at, err := parseTime(deletion.String)
		if err != nil {
			return nil, fmt.Errorf("decode deletion_requested_at of %s: %w", t.ID, err)
		}
		t.DeletionRequestedAt = &at
	}
	return &t, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
