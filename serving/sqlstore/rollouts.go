package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqltx"
)

var _ serving.RolloutStore = (*Store)(nil)

// PutRollout implements serving.RolloutStore: one row per endpoint in
// serving_rollouts, the Rollout as JSON.
func (s *Store) PutRollout(ctx context.Context, r *serving.Rollout) error {
	if r == nil || r.Endpoint == "" {
		return tenantml.Errorf(tenantml.EINVALID, "rollout without an endpoint")
	}
	if err := checkAccount(r.AccountID); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		_, err := q.Exec(`INSERT INTO serving_rollouts (account_id, name_lc, tenant_id, state, rollout, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, name_lc) DO UPDATE SET tenant_id = excluded.tenant_id, state = excluded.state, rollout = excluded.rollout, updated_at = excluded.updated_at`,
			r.AccountID, lower(r.Endpoint), r.Tenant, string(r.State), sqltx.JSON(r), s.timeArg(s.now()))
		if err != nil {
			return fmt.Errorf("put rollout: %w", err)
		}
		return nil
	})
}

// GetRollout implements serving.RolloutStore.
func (s *Store) GetRollout(ctx context.Context, acct, endpoint string) (*serving.Rollout, error) {
	if err := checkAccount(acct); err != nil {
		return nil, err
	}
	r := &serving.Rollout{}
	err := s.view(ctx, func(q *txn) error {
		return q.Row(`SELECT rollout FROM serving_rollouts WHERE account_id = ? AND name_lc = ?`, acct, lower(endpoint)).Scan(sqltx.JSONCol{Dst: r})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "endpoint %q has had no blue/green update", truncate(endpoint))
	}
	if err != nil {
		return nil, fmt.Errorf("get rollout: %w", err)
	}
	return r, nil
}

// DeleteRollout implements serving.RolloutStore.
func (s *Store) DeleteRollout(ctx context.Context, acct, endpoint string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if _, err := q.Exec(`DELETE FROM serving_rollouts WHERE account_id = ? AND name_lc = ?`, acct, lower(endpoint)); err != nil {
			return fmt.Errorf("delete rollout: %w", err)
		}
		return nil
	})
}
