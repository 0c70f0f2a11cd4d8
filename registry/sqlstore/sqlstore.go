// Package sqlstore implements registry.Store over SQL, once for both
// metadata stores: store/sqlite runs it in its transactions, store/postgres
// in transactions whose row-level security scope it chooses (the operator
// path, or one tenant). The adapters own the schema (their migrations
// 0010_registry.sql create the same registry_* tables) and the transaction
// scope; this package owns the queries. It imports no driver.
//
// # Tables
//
// registry_groups holds one row per group, keyed by (account_id,
// name_lc); registry_packages one row per package, keyed by (account_id,
// group_lc, version). Every row carries tenant_id (the owner, ” for the
// platform). Tags, the creator and the inference specification are JSON
// columns. A group's latest_version is the highest version ever
// registered in it: CreatePackage increments it in the same transaction
// that inserts the package (a row lock on PostgreSQL, SQLite's exclusive
// write transactions), so versions are 1, 2, ... without gaps or reuse.
//
// # Listing
//
// Keyset pages, as serving/sqlstore's: groups ordered by name_lc or
// (created_at, name_lc); packages by (group_lc, version) or (created_at,
// group_lc, version); ascending or descending. The next-page token is
// base64url of a small JSON record of the listing's kind and order and
// the previous page's last key. The filter always holds the caller's
// tenant, so a token names only a row the caller could list; a token
// altered to name another row only moves where the caller's own listing
// resumes.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/store/sqltx"
	"github.com/tenantml/tenantml/tenant"
)

// Store implements registry.Store over SQL.
type Store struct {
	// Run runs fn in one transaction, committing when it returns nil.
	Run func(ctx context.Context, fn func(sqltx.Tx) error) error
	// View, when set, runs fn in one read-only transaction. Nil means Run.
	View    func(ctx context.Context, fn func(sqltx.Tx) error) error
	Dialect sqltx.Dialect
	// Now returns the current time.
	Now func() time.Time
}

var _ registry.Store = (*Store)(nil)

type txn struct{ sqltx.Q }

func (s *Store) do(ctx context.Context, fn func(q *txn) error) error {
	return s.Run(ctx, func(tx sqltx.Tx) error { return fn(&txn{sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}}) })
}

func (s *Store) view(ctx context.Context, fn func(q *txn) error) error {
	if s.View == nil {
		return s.do(ctx, fn)
	}
	return s.View(ctx, func(tx sqltx.Tx) error { return fn(&txn{sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}}) })
}

func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Store) timeArg(t time.Time) any { return s.Dialect.Time(t.UTC().Truncate(time.Millisecond)) }

// nullTime is a nullable time argument: NULL for the zero time.
func (s *Store) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.timeArg(t)
}

// forUpdate is the row-lock suffix of a read before a write.
func (s *Store) forUpdate() string {
	if s.Dialect.RowLocks {
		return " FOR UPDATE"
	}
	return ""
}

func checkAccount(acct string) error {
	if len(acct) != 12 || strings.Trim(acct, "0123456789") != "" {
		return tenantml.Errorf(tenantml.EINVALID, "account ID %q must be 12 digits", truncate(acct))
	}
	return nil
}

func checkTenant(t string) error {
	if t == "" {
		return nil
	}
	return tenant.ValidateID(t)
}

func lower(s string) string { return strings.ToLower(s) }

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// userJSON is the stored form of a registry.UserContext.
type userJSON struct {
	ARN         string `json:"arn,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
}

func groupNotFound(name string) error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "Could not find model package group %q.", truncate(name))
}

func packageNotFound(group string, v int) error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "Could not find model package %s/%d.", truncate(group), v)
}

// readOnly is the answer to a write the transaction's scope forbids.
func readOnly(what string) error {
	return tenantml.Errorf(tenantml.EFORBIDDEN, "%s cannot be changed in this tenant's scope", what)
}

// tagsOK checks stored tags: valid, and a TenantID tag naming owner only.
func tagsOK(tags map[string]string, owner string) error {
	if err := tenant.ValidateTags(tags); err != nil {
		return err
	}
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) && (owner == "" || v != owner) {
			return tenantml.Errorf(tenantml.EINVALID, "the %s tag %q must name the resource's tenant %q", tenant.TagKey, truncate(v), owner)
		}
	}
	return nil
}

// fixedTenantTag refuses a change of the TenantID tag between before and
// after.
func fixedTenantTag(before, after map[string]string) error {
	get := func(m map[string]string) (string, bool) {
		for k, v := range m {
			if strings.EqualFold(k, tenant.TagKey) {
				return v, true
			}
		}
		return "", false
	}
	b, hb := get(before)
	a, ha := get(after)
	if hb != ha || a != b {
		return tenantml.Errorf(tenantml.EINVALID, "the %s tag is fixed when the resource is created", tenant.TagKey)
	}
	return nil
}

// noRows reports sql.ErrNoRows (or a driver's error wrapping it).
func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var te *tenantml.Error
	if errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
