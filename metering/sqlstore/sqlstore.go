// Package sqlstore implements metering.Store over SQL, for store/sqlite and
// store/postgres (their migrations create usage_records and
// usage_watermarks with the same columns).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Store implements metering.Store. The adapter that builds it runs the
// transactions (on PostgreSQL, in the operator's or a tenant's scope).
type Store struct {
	// Run runs fn in one transaction, committing when it returns nil.
	Run func(ctx context.Context, fn func(sqltx.Tx) error) error
	// View, when set, runs fn in one read-only transaction; nil means Run.
	View func(ctx context.Context, fn func(sqltx.Tx) error) error
	// Dialect says how the database differs; its Time must give values
	// that order as the times do.
	Dialect sqltx.Dialect
}

var _ metering.Store = (*Store)(nil)

func (s *Store) q(ctx context.Context, tx sqltx.Tx) *sqltx.Q {
	return &sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}
}

// Commit implements metering.Store.
func (s *Store) Commit(ctx context.Context, b *metering.Batch) error {
	if b.Source == "" || b.To < b.From {
		return tenantml.Errorf(tenantml.EINVALID, "usage batch of %q moves its watermark from %d to %d", b.Source, b.From, b.To)
	}
	return s.Run(ctx, func(tx sqltx.Tx) error {
		q := s.q(ctx, tx)
		if _, err := q.Exec(`INSERT INTO usage_watermarks (source, position) VALUES (?, 0) ON CONFLICT (source) DO NOTHING`, b.Source); err != nil {
			return fmt.Errorf("create watermark: %w", err)
		}
		lock := ""
		if s.Dialect.RowLocks {
			lock = " FOR UPDATE"
		}
		var at int64
		if err := q.Row(`SELECT position FROM usage_watermarks WHERE source = ?`+lock, b.Source).Scan(&at); err != nil {
			return fmt.Errorf("read watermark: %w", err)
		}
		if at != b.From {
			return tenantml.Errorf(tenantml.ECONFLICT, "usage watermark %s is at %d, not %d: another meter committed first", b.Source, at, b.From)
		}
		for _, r := range b.Records {
			if r.TenantID == "" || r.Dimension == "" {
				return tenantml.Errorf(tenantml.EINVALID, "usage record without tenant or dimension")
			}
			if _, err := q.Exec(`INSERT INTO usage_records (tenant_id, hour, dimension, value) VALUES (?, ?, ?, ?)
				ON CONFLICT (tenant_id, hour, dimension) DO UPDATE SET value = usage_records.value + excluded.value`,
				r.TenantID, s.Dialect.Time(metering.Hour(r.Hour)), string(r.Dimension), r.Value); err != nil {
				return fmt.Errorf("add usage: %w", err)
			}
		}
		if _, err := q.Exec(`UPDATE usage_watermarks SET position = ? WHERE source = ?`, b.To, b.Source); err != nil {
			return fmt.Errorf("move watermark: %w", err)
		}
		return nil
	})
}

// Watermark implements metering.Store.
func (s *Store) Watermark(ctx context.Context, source string) (int64, error) {
	var at int64
	err := s.view(ctx, func(q *sqltx.Q) error {
		err := q.Row(`SELECT position FROM usage_watermarks WHERE source = ?`, source).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			at = 0
			return nil
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read usage watermark: %w", err)
	}
	return at, nil
}

// Records implements metering.Store.
func (s *Store) Records(ctx context.Context, f metering.Filter) ([]metering.Record, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	query := `SELECT tenant_id, hour, dimension, value FROM usage_records WHERE hour >= ? AND hour < ?`
	args := []any{s.Dialect.Time(f.From.UTC()), s.Dialect.Time(f.To.UTC())}
	if !f.AllTenants {
		query += ` AND tenant_id = ?`
		args = append(args, f.TenantID)
	}
	query += ` ORDER BY tenant_id, hour, dimension`
	var out []metering.Record
	err := s.view(ctx, func(q *sqltx.Q) error {
		rows, err := q.Rows(query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r metering.Record
			var d string
			if err := rows.Scan(&r.TenantID, sqltx.TimeCol{T: &r.Hour}, &d, &r.Value); err != nil {
				return err
			}
			r.Dimension = metering.Dimension(d)
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read usage records: %w", err)
	}
	return out, nil
}

func (s *Store) view(ctx context.Context, fn func(q *sqltx.Q) error) error {
	run := s.View
	if run == nil {
		run = s.Run
	}
	return run(ctx, func(tx sqltx.Tx) error { return fn(s.q(ctx, tx)) })
}

// TextTime formats t for SQLite's TEXT hour column: UTC, fixed width, so
// that the text orders as the times do.
func TextTime(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
