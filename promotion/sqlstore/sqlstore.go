// Package sqlstore implements promotion.Store over SQL, once for both
// metadata stores: store/sqlite runs it in its transactions, store/postgres
// in transactions whose row-level security scope it chooses. The adapters
// own the schema (their migrations 0013_pipelines.sql create the same
// promotion_* tables); this package owns the queries. It imports no driver.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/store/sqltx"
	"github.com/tenantml/tenantml/tenant"
)

// Store implements promotion.Store over SQL.
type Store struct {
	// Run runs fn in one transaction, committing when it returns nil.
	Run     func(ctx context.Context, fn func(sqltx.Tx) error) error
	Dialect sqltx.Dialect
	// Now returns the current time.
	Now func() time.Time
}

var _ promotion.Store = (*Store)(nil)

type txn struct{ sqltx.Q }

func (s *Store) do(ctx context.Context, fn func(q *txn) error) error {
	return s.Run(ctx, func(tx sqltx.Tx) error { return fn(&txn{sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}}) })
}

func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Store) timeArg(t time.Time) any { return s.Dialect.Time(t.UTC().Truncate(time.Millisecond)) }

func (s *Store) forUpdate() string {
	if s.Dialect.RowLocks {
		return " FOR UPDATE"
	}
	return ""
}

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

func pipelineNotFound(name string) error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "no pipeline %q", trunc(name))
}

func runNotFound(id string) error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "no run %q", trunc(id))
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

const pipelineCols = `account_id, spec, applied_by, created_at, updated_at`

func scanPipeline(sc sqltx.Row) (*promotion.Pipeline, error) {
	p := &promotion.Pipeline{}
	if err := sc.Scan(&p.AccountID, sqltx.JSONCol{Dst: &p.Spec}, &p.AppliedBy, sqltx.TimeCol{T: &p.CreatedAt}, sqltx.TimeCol{T: &p.UpdatedAt}); err != nil {
		return nil, err
	}
	return p, nil
}

// PutPipeline implements promotion.Store.
func (s *Store) PutPipeline(ctx context.Context, p *promotion.Pipeline) error {
	if p == nil {
		return tenantml.Errorf(tenantml.EINVALID, "pipeline is required")
	}
	if err := p.Spec.Validate(); err != nil {
		return err
	}
	if err := tenant.ValidateID(p.Tenant()); err != nil {
		return err
	}
	now := s.now()
	err := s.do(ctx, func(q *txn) error {
		old, err := scanPipeline(q.Row(`SELECT `+pipelineCols+` FROM promotion_pipelines WHERE account_id = ? AND name = ?`+s.forUpdate(), p.AccountID, p.Name()))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err := q.Exec(`INSERT INTO promotion_pipelines (account_id, name, tenant_id, group_name, spec, applied_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.AccountID, p.Name(), p.Tenant(), p.Spec.ModelPackageGroup, sqltx.JSON(p.Spec), p.AppliedBy, s.timeArg(now), s.timeArg(now))
			if s.Dialect.IsUnique(err) {
				return tenantml.Errorf(tenantml.ECONFLICT, "pipeline %q already exists", p.Name())
			}
			p.CreatedAt = now
			return wrap("create pipeline", err)
		case err != nil:
			return wrap("get pipeline", err)
		case old.Tenant() != p.Tenant():
			return tenantml.Errorf(tenantml.ECONFLICT, "pipeline %q belongs to another tenant", p.Name())
		}
		n, err := q.Exec(`UPDATE promotion_pipelines SET group_name = ?, spec = ?, applied_by = ?, updated_at = ? WHERE account_id = ? AND name = ?`,
			p.Spec.ModelPackageGroup, sqltx.JSON(p.Spec), p.AppliedBy, s.timeArg(now), p.AccountID, p.Name())
		if err == nil && n == 0 {
			return tenantml.Errorf(tenantml.EFORBIDDEN, "pipeline %q cannot be changed in this tenant's scope", p.Name())
		}
		p.CreatedAt = old.CreatedAt
		return wrap("update pipeline", err)
	})
	if err != nil {
		return err
	}
	p.UpdatedAt = now
	return nil
}

// GetPipeline implements promotion.Store.
func (s *Store) GetPipeline(ctx context.Context, acct, name string) (*promotion.Pipeline, error) {
	var p *promotion.Pipeline
	err := s.do(ctx, func(q *txn) (err error) {
		p, err = scanPipeline(q.Row(`SELECT `+pipelineCols+` FROM promotion_pipelines WHERE account_id = ? AND name = ?`, acct, name))
		if errors.Is(err, sql.ErrNoRows) {
			return pipelineNotFound(name)
		}
		return wrap("get pipeline", err)
	})
	return p, err
}

// PipelinesForGroup implements promotion.Store.
func (s *Store) PipelinesForGroup(ctx context.Context, acct, group string) ([]*promotion.Pipeline, error) {
	var out []*promotion.Pipeline
	err := s.do(ctx, func(q *txn) error {
		rows, err := q.Rows(`SELECT `+pipelineCols+` FROM promotion_pipelines WHERE account_id = ? AND group_name = ? ORDER BY name`, acct, group)
		if err != nil {
			return wrap("list pipelines", err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPipeline(rows)
			if err != nil {
				return wrap("list pipelines", err)
			}
			out = append(out, p)
		}
		return wrap("list pipelines", rows.Err())
	})
	return out, err
}

const runCols = `account_id, pipeline, id, tenant_id, package_arn, version, state, reason, approved_by, history, created_at, updated_at`

func scanRun(sc sqltx.Row) (*promotion.Run, error) {
	r := &promotion.Run{}
	var state string
	if err := sc.Scan(&r.AccountID, &r.Pipeline, &r.ID, &r.Tenant, &r.PackageARN, &r.Version, &state, &r.Reason, &r.ApprovedBy,
		sqltx.JSONCol{Dst: &r.History}, sqltx.TimeCol{T: &r.CreatedAt}, sqltx.TimeCol{T: &r.UpdatedAt}); err != nil {
		return nil, err
	}
	r.State = promotion.State(state)
	return r, nil
}

func active(st promotion.State) int {
	if st.Terminal() || st == promotion.AwaitingApproval {
		return 0
	}
	return 1
}

func history(h []promotion.Transition) []promotion.Transition {
	if h == nil {
		return []promotion.Transition{}
	}
	return h
}

// CreateRun implements promotion.Store.
func (s *Store) CreateRun(ctx context.Context, r *promotion.Run) error {
	if r == nil || r.ID == "" || r.Pipeline == "" {
		return tenantml.Errorf(tenantml.EINVALID, "a run needs an ID and a pipeline")
	}
	return s.do(ctx, func(q *txn) error {
		_, err := q.Exec(`INSERT INTO promotion_runs (`+runCols+`, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.AccountID, r.Pipeline, r.ID, r.Tenant, r.PackageARN, r.Version, string(r.State), r.Reason, r.ApprovedBy,
			sqltx.JSON(history(r.History)), s.timeArg(r.CreatedAt), s.timeArg(r.UpdatedAt), active(r.State))
		if s.Dialect.IsUnique(err) {
			return tenantml.Errorf(tenantml.ECONFLICT, "run %q already exists", r.ID)
		}
		return wrap("create run", err)
	})
}

// GetRun implements promotion.Store.
func (s *Store) GetRun(ctx context.Context, acct, pipeline, id string) (*promotion.Run, error) {
	var r *promotion.Run
	err := s.do(ctx, func(q *txn) (err error) {
		r, err = q.run(acct, pipeline, id, "")
		return err
	})
	return r, err
}

func (q *txn) run(acct, pipeline, id, suffix string) (*promotion.Run, error) {
	r, err := scanRun(q.Row(`SELECT `+runCols+` FROM promotion_runs WHERE account_id = ? AND pipeline = ? AND id = ?`+suffix, acct, pipeline, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, runNotFound(id)
	}
	return r, wrap("get run", err)
}

// UpdateRun implements promotion.Store.
func (s *Store) UpdateRun(ctx context.Context, acct, pipeline, id string, fn func(*promotion.Run) error) (*promotion.Run, error) {
	var r *promotion.Run
	err := s.do(ctx, func(q *txn) (err error) {
		if r, err = q.run(acct, pipeline, id, s.forUpdate()); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		n, err := q.Exec(`UPDATE promotion_runs SET state = ?, active = ?, reason = ?, approved_by = ?, history = ?, updated_at = ?
			WHERE account_id = ? AND pipeline = ? AND id = ?`,
			string(r.State), active(r.State), r.Reason, r.ApprovedBy, sqltx.JSON(history(r.History)), s.timeArg(r.UpdatedAt), acct, pipeline, id)
		if err == nil && n == 0 {
			return runNotFound(id)
		}
		return wrap("update run", err)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ListRuns implements promotion.Store.
func (s *Store) ListRuns(ctx context.Context, f promotion.RunFilter) ([]*promotion.Run, error) {
	query := `SELECT ` + runCols + ` FROM promotion_runs WHERE 1 = 1`
	var args []any
	if f.Pipeline != "" {
		query += ` AND account_id = ? AND pipeline = ?`
		args = append(args, f.AccountID, f.Pipeline)
	}
	if f.Active {
		query += ` AND active = 1`
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT 1000`
	var out []*promotion.Run
	err := s.do(ctx, func(q *txn) error {
		rows, err := q.Rows(query, args...)
		if err != nil {
			return wrap("list runs", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return wrap("list runs", err)
			}
			out = append(out, r)
		}
		return wrap("list runs", rows.Err())
	})
	return out, err
}
