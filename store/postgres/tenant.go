package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/tenant"
)

// TenantService implements tenant.Service on PostgreSQL. CreateTenant and
// ListTenants take the operator path; FindTenant, UpdateTenant and SetStatus
// run inside InTenant(id), so row-level security alone decides which row
// they can see.
type TenantService struct{ db *DB }

var _ tenant.Service = (*TenantService)(nil)

const tenantColumns = `tenant_id, display_name, isolation, tier, home_region, tags, status, created_at, updated_at, deletion_requested_at, version`

// now returns the store's clock at PostgreSQL's microsecond precision, so a
// time handed back by CreateTenant equals the one read later.
func (s *TenantService) now() time.Time { return s.db.Now().UTC().Truncate(time.Microsecond) }

// CreateTenant validates and inserts t, filling status, timestamps and
// version.
func (s *TenantService) CreateTenant(ctx context.Context, t *tenant.Tenant) error {
	if t.Tier == "" {
		t.Tier = tenant.DefaultTier
	}
	if err := t.Validate(); err != nil {
		return err
	}
	now := s.now()
	t.Status, t.CreatedAt, t.UpdatedAt, t.Version, t.DeletionRequestedAt = tenant.Active, now, now, 1, nil
	err := s.db.AsOperator(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)`,
			t.ID, t.DisplayName, string(t.Isolation), t.Tier, t.HomeRegion, nonNil(t.Tags), string(t.Status), now, now, t.Version)
		return err
	})
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
	if tenant.ValidateID(id) != nil { // no tenant has it; and PostgreSQL refuses some bytes (NUL) in text
		return nil, tenant.ErrNotFound(id)
	}
	var out *tenant.Tenant
	err := s.db.InTenant(ctx, id, func(tx pgx.Tx) error {
		var err error
		out, err = findTenant(ctx, tx, id, "")
		return err
	})
	return out, err
}

// ListTenants is the operator-wide listing, ordered by ID.
func (s *TenantService) ListTenants(ctx context.Context, f tenant.Filter) ([]*tenant.Tenant, string, error) {
	limit, err := f.PageSize()
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"tenant_id > $1"}, []any{f.After}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	if f.Isolation != "" {
		args = append(args, string(f.Isolation))
		where = append(where, "isolation = $"+strconv.Itoa(len(args)))
	}
	args = append(args, limit+1)
	query := `SELECT ` + tenantColumns + ` FROM tenants WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY tenant_id LIMIT $` + strconv.Itoa(len(args))
	var out []*tenant.Tenant
	err = s.db.AsOperator(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTenant(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
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
	return s.modify(ctx, id, func(t *tenant.Tenant) error { return tenant.Transition(t, to, s.now()) })
}

// modify locks, changes and writes one tenant in a single tenant-scoped
// transaction; the row lock queues concurrent updates so none is lost.
func (s *TenantService) modify(ctx context.Context, id string, change func(*tenant.Tenant) error) (*tenant.Tenant, error) {
	if tenant.ValidateID(id) != nil { // no tenant has it; and PostgreSQL refuses some bytes (NUL) in text
		return nil, tenant.ErrNotFound(id)
	}
	var out *tenant.Tenant
	err := s.db.InTenant(ctx, id, func(tx pgx.Tx) error {
		t, err := findTenant(ctx, tx, id, " FOR UPDATE")
		if err != nil {
			return err
		}
		if err := change(t); err != nil {
			return err
		}
		t.UpdatedAt = s.now()
		tag, err := tx.Exec(ctx, `UPDATE tenants SET display_name = $1, isolation = $2, tier = $3, tags = $4, status = $5, updated_at = $6, deletion_requested_at = $7, version = version + 1 WHERE tenant_id = $8 AND version = $9`,
			t.DisplayName, string(t.Isolation), t.Tier, nonNil(t.Tags), string(t.Status), t.UpdatedAt, t.DeletionRequestedAt, t.ID, t.Version)
		if err != nil {
			return fmt.Errorf("update tenant: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return tenantml.Errorf(tenantml.ECONFLICT, "tenant %q changed concurrently; retry", id)
		}
		t.Version++
		out = t
		return nil
	})
	return out, err
}

// findTenant reads one tenant; lock is "" or a locking clause.
func findTenant(ctx context.Context, tx pgx.Tx, id, lock string) (*tenant.Tenant, error) {
	t, err := scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = $1`+lock, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.ErrNotFound(id)
	}
	return t, err
}

func scanTenant(row pgx.Row) (*tenant.Tenant, error) {
	var (
		t                 tenant.Tenant
		isolation, status string
		deletion          *time.Time
	)
	if err := row.Scan(&t.ID, &t.DisplayName, &isolation, &t.Tier, &t.HomeRegion, &t.Tags, &status, &t.CreatedAt, &t.UpdatedAt, &deletion, &t.Version); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("scan tenant: %w", err)
	}
	t.Isolation, t.Status = tenant.Isolation(isolation), tenant.Status(status)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if deletion != nil {
		at := deletion.UTC()
		t.DeletionRequestedAt = &at
	}
	if t.Tags == nil {
		t.Tags = map[string]string{}
	}
	return &t, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
