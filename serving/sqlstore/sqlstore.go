package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqltx"
	"github.com/tenantml/tenantml/tenant"
)

// Store implements serving.Store over SQL. The adapter that builds it runs
// the transactions (and so, on PostgreSQL, decides the row-level security
// scope they run in).
type Store struct {
	// Run runs fn in one transaction, committing when it returns nil.
	Run func(ctx context.Context, fn func(sqltx.Tx) error) error
	// View, when set, runs fn in one read-only transaction; the read
	// methods use it. Nil means Run.
	View func(ctx context.Context, fn func(sqltx.Tx) error) error
	// Dialect says how the database differs. Its Time must give values
	// that order as the times do (TextTime on SQLite's TEXT columns).
	Dialect sqltx.Dialect
	// Now returns the current time.
	Now func() time.Time
}

var _ serving.Store = (*Store)(nil)

// TextTime formats t for a TEXT time column: UTC, fixed-width, at
// millisecond precision, so that the text orders as the times do.
func TextTime(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// txn is one transaction.
type txn struct{ sqltx.Q }

func (s *Store) do(ctx context.Context, fn func(q *txn) error) error {
	return s.Run(ctx, func(tx sqltx.Tx) error {
		return fn(&txn{sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}})
	})
}

// view is do for read-only work.
func (s *Store) view(ctx context.Context, fn func(q *txn) error) error {
	if s.View == nil {
		return s.do(ctx, fn)
	}
	return s.View(ctx, func(tx sqltx.Tx) error {
		return fn(&txn{sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}})
	})
}

// now is the store's clock at the stored precision.
func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// timeArg converts a time to a query argument.
func (s *Store) timeArg(t time.Time) any { return s.Dialect.Time(t.UTC()) }

// head is what every resource row has: the columns headCols names.
type head struct {
	acct, name, arn, tenant string
	created                 time.Time
}

const headCols = `account_id, name, arn, tenant_id, created_at`

// dest returns the scan destinations of headCols followed by own.
func (h *head) dest(own ...any) []any {
	return append([]any{&h.acct, &h.name, &h.arn, &h.tenant, sqltx.TimeCol{T: &h.created}}, own...)
}

// spec describes the table of one resource kind to the generic queries.
type spec[T any] struct {
	kind serving.ResourceKind
	// cols are the kind's own columns, selected after headCols.
	cols string
	// scan scans headCols into h and cols into the resource, and copies h
	// into it.
	scan func(sc sqltx.Row, h *head) (T, error)
	// setTags sets the resource's tags.
	setTags func(T, map[string]string)
}

// noun is how messages name a kind, as SageMaker's do.
func noun(k serving.ResourceKind) string {
	if k == serving.KindEndpointConfig {
		return "endpoint configuration"
	}
	return string(k)
}

// tableOf returns the table of a kind, "" for an unknown one.
func tableOf(k serving.ResourceKind) string {
	switch k {
	case serving.KindModel:
		return "serving_models"
	case serving.KindEndpointConfig:
		return "serving_endpoint_configs"
	case serving.KindEndpoint:
		return "serving_endpoints"
	}
	return ""
}

func notFound(k serving.ResourceKind, name string) error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "Could not find %s %q.", noun(k), name)
}

// find returns the resource of kind k named name (in any case) with its
// tags, in a read-only transaction.
func find[T any](ctx context.Context, s *Store, k spec[T], acct, name string) (T, error) {
	var v T
	if err := checkAccount(acct); err != nil {
		return v, err
	}
	err := s.view(ctx, func(q *txn) (err error) {
		v, err = get(q, k, acct, name)
		return err
	})
	return v, err
}

// get returns the resource of kind k named name (in any case) with its
// tags.
func get[T any](q *txn, k spec[T], acct, name string) (T, error) {
	var h head
	v, err := k.scan(q.Row(`SELECT `+headCols+`, `+k.cols+` FROM `+tableOf(k.kind)+` WHERE account_id = ? AND name_lc = ?`, acct, lower(name)), &h)
	if errors.Is(err, sql.ErrNoRows) {
		return v, notFound(k.kind, name)
	}
	if err != nil {
		return v, fmt.Errorf("get %s: %w", k.kind, err)
	}
	tags, err := q.tagsOf(acct, []string{h.arn})
	if err != nil {
		return v, err
	}
	k.setTags(v, tags[h.arn])
	return v, nil
}

// remove deletes the resource of kind k named name and its tags.
func (s *Store) remove(ctx context.Context, k serving.ResourceKind, acct, name string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error { return q.remove(k, acct, name) })
}

// remove deletes the resource of kind k named name and its tags.
func (q *txn) remove(k serving.ResourceKind, acct, name string) error {
	var a string
	err := q.Row(`DELETE FROM `+tableOf(k)+` WHERE account_id = ? AND name_lc = ? RETURNING arn`, acct, lower(name)).Scan(&a)
	if errors.Is(err, sql.ErrNoRows) {
		return q.missed(k, acct, name)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	if _, err := q.Exec(`DELETE FROM serving_tags WHERE account_id = ? AND arn = ?`, acct, a); err != nil {
		return fmt.Errorf("delete %s tags: %w", k, err)
	}
	return nil
}

// missed explains a write of the resource of kind k named name that
// matched no row: ENOTFOUND if the transaction cannot see it either,
// EFORBIDDEN if it can (on PostgreSQL, a tenant-scoped transaction reads
// platform rows but may not write them).
func (q *txn) missed(k serving.ResourceKind, acct, name string) error {
	n, err := q.Count(`SELECT COUNT(*) FROM `+tableOf(k)+` WHERE account_id = ? AND name_lc = ?`, acct, lower(name))
	if err != nil {
		return fmt.Errorf("find %s: %w", k, err)
	}
	if n == 0 {
		return notFound(k, name)
	}
	return readOnly(noun(k) + " " + name)
}

func readOnly(what string) error {
	return tenantml.Errorf(tenantml.EFORBIDDEN, "%s cannot be changed in this tenant's scope", what)
}

// create checks and inserts a new resource of kind k, whose common
// columns are h (h.created its creation time) and whose own columns,
// k.cols, take own, and stores its tags, in one transaction. A taken name
// is ECONFLICT.
func create[T any](ctx context.Context, s *Store, k spec[T], h head, tags map[string]string, own ...any) error {
	if err := checkNew(k.kind, h, tags); err != nil {
		return err
	}
	query := `INSERT INTO ` + tableOf(k.kind) + ` (account_id, name_lc, name, arn, tenant_id, created_at, ` + k.cols + `)
		VALUES (?, ?, ?, ?, ?, ?` + strings.Repeat(", ?", len(own)) + `)`
	args := append([]any{h.acct, lower(h.name), h.name, h.arn, h.tenant, s.timeArg(h.created)}, own...)
	return s.do(ctx, func(q *txn) error {
		_, err := q.Exec(query, args...)
		if s.Dialect.IsUnique(err) {
			return tenantml.Errorf(tenantml.ECONFLICT, "Cannot create already existing %s %q.", noun(k.kind), h.name)
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", k.kind, err)
		}
		return q.insertTags(h.acct, h.arn, h.tenant, tags)
	})
}

// checkNew validates what the store relies on in a resource to create: the
// account, the name, the ARN (the account's ARN of kind k naming the
// lower-cased name), the tenant and the tags, whose TenantID tag, if any,
// must name the tenant.
func checkNew(k serving.ResourceKind, h head, tags map[string]string) error {
	if err := checkAccount(h.acct); err != nil {
		return err
	}
	if err := serving.ValidateName(string(k)+" name", h.name); err != nil {
		return err
	}
	a, err := arn.Parse(h.arn)
	if err != nil || a.Service != "sagemaker" || a.AccountID != h.acct || a.Resource != string(k)+"/"+lower(h.name) {
		return tenantml.Errorf(tenantml.EINVALID, "ARN %q is not the ARN of %s %s of account %s", truncate(h.arn), noun(k), h.name, h.acct)
	}
	if h.tenant != "" {
		if err := tenant.ValidateID(h.tenant); err != nil {
			return err
		}
	}
	if err := tenant.ValidateTags(tags); err != nil {
		return err
	}
	if v, ok := tenantTag(tags); ok && (h.tenant == "" || v != h.tenant) {
		return tenantml.Errorf(tenantml.EINVALID, "the %s tag %q must name the resource's tenant %q", tenant.TagKey, truncate(v), h.tenant)
	}
	return nil
}

func checkAccount(acct string) error {
	if len(acct) != 12 || strings.Trim(acct, "0123456789") != "" {
		return tenantml.Errorf(tenantml.EINVALID, "account ID %q must be 12 digits", truncate(acct))
	}
	return nil
}

func lower(s string) string { return strings.ToLower(s) }

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
