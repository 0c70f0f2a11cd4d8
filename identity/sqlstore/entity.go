package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml/identity"
)

// scanner is one result row: a Row, or Rows positioned on a row.
type scanner interface{ Scan(dest ...any) error }

// entity describes the SQL of one named IAM entity (user, group, role) for
// the helpers they share: find by name, list a page, delete when nothing
// depends on it, retag. Names are unique per account case-insensitively
// (the name_lc column).
type entity[T any] struct {
	what  string // the entity in messages: "user"
	table string // "iam_users"
	alias string // the table's alias in queries: "u"
	cols  string // the select list, qualified by alias
	scan  func(scanner) (T, error)
	name  func(T) string            // the name as stored
	tags  func(T) map[string]string // nil for an entity without tags
	// dependents are the rows that must be gone before a delete: each
	// query counts them by account and lower-cased name.
	dependents []dependent
}

// dependent is one kind of row that blocks deleting its entity.
type dependent struct{ what, query string }

// from is the FROM clause naming the entity's table with its alias.
func (e entity[T]) from() string { return e.table + " " + e.alias }

// byName is the WHERE condition selecting one entity of an account by
// lower-cased name.
func (e entity[T]) byName() string {
	return e.alias + ".account_id = ? AND " + e.alias + ".name_lc = ?"
}

// find returns acct's entity called name, or NoSuchEntity.
func find[T any](q *txn, e entity[T], acct, name string) (T, error) {
	v, err := e.scan(q.row(`SELECT `+e.cols+` FROM `+e.from()+` WHERE `+e.byName(), acct, lower(name)))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, noSuch(e.what, name)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("get %s: %w", e.what, err)
	}
	return v, nil
}

// queryAll runs query and scans every row with scan; what names the
// listing in errors ("users").
func queryAll[T any](q *txn, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.rows(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// all runs a query selecting e.cols and scans every row as an e.
func all[T any](q *txn, e entity[T], query string, args ...any) ([]T, error) {
	return queryAll(q, e.what+"s", e.scan, query, args...)
}

// cut returns the first n of items (queried with LIMIT n+1) and the marker
// of the next page: the lower-cased name of the last one returned, or ""
// when there is no next page.
func cut[T any](e entity[T], items []T, n int) ([]T, string, error) {
	if len(items) > n {
		return items[:n], lower(e.name(items[n-1])), nil
	}
	return items, "", nil
}

// get returns acct's entity called name in a read transaction.
func get[T any](ctx context.Context, s *Store, e entity[T], acct, name string) (T, error) {
	var v T
	if err := validAccount(acct); err != nil {
		return v, err
	}
	err := s.view(ctx, func(q *txn) (err error) {
		v, err = find(q, e, acct, name)
		return err
	})
	return v, err
}

// list returns one page of acct's entities in name order, after
// opt.Marker, whose path starts with opt.PathPrefix (and, when
// opt.TenantID is set, of that tenant only).
func list[T any](ctx context.Context, s *Store, e entity[T], acct string, opt identity.ListOptions) ([]T, string, error) {
	if err := validAccount(acct); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []T
	err = s.view(ctx, func(q *txn) error {
		a := e.alias + "."
		f, fargs := pathFilter(a+"path", opt.PathPrefix)
		tf, targs := tenantFilter(a+"tenant_id", opt.TenantID)
		f, fargs = f+tf, append(fargs, targs...)
		args := append([]any{acct, lower(opt.Marker)}, fargs...)
		out, err = all(q, e, `SELECT `+e.cols+` FROM `+e.from()+` WHERE `+a+`account_id = ? AND `+a+`name_lc > ?`+f+` ORDER BY `+a+`name_lc LIMIT ?`, append(args, n+1)...)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return cut(e, out, n)
}

// change runs fn on acct's entity called name in a write transaction.
func change[T any](ctx context.Context, s *Store, e entity[T], acct, name string, fn func(q *txn, v T) error) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		v, err := find(q, e, acct, name)
		if err != nil {
			return err
		}
		return fn(q, v)
	})
}

// remove deletes acct's entity called name, or fails with DeleteConflict
// while any of its dependents remain.
func remove[T any](ctx context.Context, s *Store, e entity[T], acct, name string) error {
	return change(ctx, s, e, acct, name, func(q *txn, v T) error {
		stored := e.name(v)
		lc := lower(stored)
		for _, d := range e.dependents {
			n, err := q.count(d.query, acct, lc)
			if err != nil {
				return fmt.Errorf("delete %s: %w", e.what, err)
			}
			if n > 0 {
				return identity.Errorf(identity.DeleteConflict, "cannot delete %s %s: it still has %s", e.what, stored, d.what)
			}
		}
		if _, err := q.exec(`DELETE FROM `+e.table+` WHERE account_id = ? AND name_lc = ?`, acct, lc); err != nil {
			return fmt.Errorf("delete %s: %w", e.what, err)
		}
		return nil
	})
}

// retag sets the tags in set and removes the keys in drop on acct's
// entity called name (identity.MergeTags decides what is allowed).
func retag[T any](ctx context.Context, s *Store, e entity[T], acct, name string, set map[string]string, drop []string) error {
	return change(ctx, s, e, acct, name, func(q *txn, v T) error {
		tags, err := identity.MergeTags(e.tags(v), set, drop)
		if err != nil {
			return err
		}
		if _, err := q.exec(`UPDATE `+e.table+` SET tags = ? WHERE account_id = ? AND name_lc = ?`, toJSON(tags), acct, lower(name)); err != nil {
			return fmt.Errorf("tag %s: %w", e.what, err)
		}
		return nil
	})
}

// listTags returns the tags of acct's entity called name.
func listTags[T any](ctx context.Context, s *Store, e entity[T], acct, name string) (map[string]string, error) {
	v, err := get(ctx, s, e, acct, name)
	if err != nil {
		return nil, err
	}
	return e.tags(v), nil
}
