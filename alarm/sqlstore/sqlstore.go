// Package sqlstore implements alarm.Store over SQL, for store/sqlite and
// store/postgres (their 0012_deployments.sql migrations create
// cloudwatch_alarms with the same columns). An alarm is one row keyed by
// (account_id, name): its owner, ARN and state in columns, its definition
// as JSON.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Store implements alarm.Store. The adapter that builds it runs the
// transactions (on PostgreSQL, in the operator's scope).
type Store struct {
	// Run runs fn in one transaction, committing when it returns nil.
	Run func(ctx context.Context, fn func(sqltx.Tx) error) error
	// Dialect says how the database differs.
	Dialect sqltx.Dialect
}

var _ alarm.Store = (*Store)(nil)

func (s *Store) do(ctx context.Context, fn func(q *sqltx.Q) error) error {
	return s.Run(ctx, func(tx sqltx.Tx) error { return fn(&sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}) })
}

// definition is the stored part of an alarm that is neither key nor
// state.
type definition struct {
	Description        string            `json:"description,omitempty"`
	ActionsEnabled     bool              `json:"actionsEnabled"`
	Namespace          string            `json:"namespace"`
	MetricName         string            `json:"metricName"`
	Dimensions         []alarm.Dimension `json:"dimensions"`
	Statistic          string            `json:"statistic,omitempty"`
	ExtendedStatistic  string            `json:"extendedStatistic,omitempty"`
	Period             int               `json:"period"`
	EvaluationPeriods  int               `json:"evaluationPeriods"`
	DatapointsToAlarm  int               `json:"datapointsToAlarm"`
	Threshold          float64           `json:"threshold"`
	ComparisonOperator string            `json:"comparisonOperator"`
	TreatMissingData   string            `json:"treatMissingData"`
	Unit               string            `json:"unit,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
}

func checkAccount(acct string) error {
	if len(acct) != 12 || strings.Trim(acct, "0123456789") != "" {
		return tenantml.Errorf(tenantml.EINVALID, "account ID %q must be 12 digits", acct)
	}
	return nil
}

// PutAlarm implements alarm.Store.
func (s *Store) PutAlarm(ctx context.Context, a *alarm.Alarm) error {
	if err := checkAccount(a.AccountID); err != nil {
		return err
	}
	def := definition{a.Description, a.ActionsEnabled, a.Namespace, a.MetricName, a.Dimensions, a.Statistic, a.ExtendedStatistic, a.Period,
		a.EvaluationPeriods, a.DatapointsToAlarm, a.Threshold, a.ComparisonOperator, a.TreatMissingData, a.Unit, a.Tags}
	return s.do(ctx, func(q *sqltx.Q) error {
		_, err := q.Exec(`INSERT INTO cloudwatch_alarms (account_id, name, tenant_id, arn, definition, state_value, state_reason, state_updated_at, config_updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, name) DO UPDATE SET definition = excluded.definition, config_updated_at = excluded.config_updated_at
			WHERE cloudwatch_alarms.tenant_id = excluded.tenant_id`,
			a.AccountID, a.Name, a.Tenant, a.ARN, sqltx.JSON(def), string(a.State), a.StateReason, s.Dialect.Time(a.StateUpdatedAt.UTC()), s.Dialect.Time(a.ConfigUpdatedAt.UTC()))
		if err != nil {
			return fmt.Errorf("put alarm: %w", err)
		}
		return nil
	})
}

const cols = `account_id, name, tenant_id, arn, definition, state_value, state_reason, state_updated_at, config_updated_at`

func scan(row sqltx.Row) (*alarm.Alarm, error) {
	a := &alarm.Alarm{}
	var def definition
	if err := row.Scan(&a.AccountID, &a.Name, &a.Tenant, &a.ARN, sqltx.JSONCol{Dst: &def}, &a.State, &a.StateReason,
		sqltx.TimeCol{T: &a.StateUpdatedAt}, sqltx.TimeCol{T: &a.ConfigUpdatedAt}); err != nil {
		return nil, err
	}
	a.Description, a.ActionsEnabled, a.Namespace, a.MetricName, a.Dimensions = def.Description, def.ActionsEnabled, def.Namespace, def.MetricName, def.Dimensions
	a.Statistic, a.ExtendedStatistic, a.Period, a.EvaluationPeriods, a.DatapointsToAlarm = def.Statistic, def.ExtendedStatistic, def.Period, def.EvaluationPeriods, def.DatapointsToAlarm
	a.Threshold, a.ComparisonOperator, a.TreatMissingData, a.Unit, a.Tags = def.Threshold, def.ComparisonOperator, def.TreatMissingData, def.Unit, def.Tags
	return a, nil
}

// GetAlarm implements alarm.Store.
func (s *Store) GetAlarm(ctx context.Context, acct, name string) (*alarm.Alarm, error) {
	if err := checkAccount(acct); err != nil {
		return nil, err
	}
	var a *alarm.Alarm
	err := s.do(ctx, func(q *sqltx.Q) (err error) {
		a, err = scan(q.Row(`SELECT `+cols+` FROM cloudwatch_alarms WHERE account_id = ? AND name = ?`, acct, name))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, alarm.ErrNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("get alarm: %w", err)
	}
	return a, nil
}

// ListAlarms implements alarm.Store, ordered by name.
func (s *Store) ListAlarms(ctx context.Context, acct string, f alarm.Filter) ([]*alarm.Alarm, error) {
	if err := checkAccount(acct); err != nil {
		return nil, err
	}
	query := `SELECT ` + cols + ` FROM cloudwatch_alarms WHERE account_id = ?`
	args := []any{acct}
	if f.Tenant != "" {
		query += ` AND tenant_id = ?`
		args = append(args, f.Tenant)
	}
	if f.State != "" {
		query += ` AND state_value = ?`
		args = append(args, string(f.State))
	}
	query += ` ORDER BY name`
	want := map[string]bool{}
	for _, n := range f.Names {
		want[n] = true
	}
	var out []*alarm.Alarm
	err := s.do(ctx, func(q *sqltx.Q) error {
		rows, err := q.Rows(query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scan(rows)
			if err != nil {
				return err
			}
			if (len(want) == 0 || want[a.Name]) && strings.HasPrefix(a.Name, f.Prefix) {
				out = append(out, a)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list alarms: %w", err)
	}
	return out, nil
}

// DeleteAlarm implements alarm.Store.
func (s *Store) DeleteAlarm(ctx context.Context, acct, name string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *sqltx.Q) error {
		n, err := q.Exec(`DELETE FROM cloudwatch_alarms WHERE account_id = ? AND name = ?`, acct, name)
		if err != nil {
			return fmt.Errorf("delete alarm: %w", err)
		}
		if n == 0 {
			return alarm.ErrNotFound(name)
		}
		return nil
	})
}

// SetState implements alarm.Store.
func (s *Store) SetState(ctx context.Context, acct, name string, state alarm.StateValue, reason string, at time.Time) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *sqltx.Q) error {
		n, err := q.Exec(`UPDATE cloudwatch_alarms SET state_value = ?, state_reason = ?, state_updated_at = ? WHERE account_id = ? AND name = ?`,
			string(state), reason, s.Dialect.Time(at.UTC()), acct, name)
		if err != nil {
			return fmt.Errorf("set alarm state: %w", err)
		}
		if n == 0 {
			return alarm.ErrNotFound(name)
		}
		return nil
	})
}
