package sqlite

import (
	"time"

	"github.com/tenantml/tenantml/alarm"
	alarmsql "github.com/tenantml/tenantml/alarm/sqlstore"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Rollouts returns the endpoints' blue/green updates (serving_rollouts;
// the queries live in serving/sqlstore).
func (s *DB) Rollouts() serving.RolloutStore {
	return &sqlstore.Store{
		Run:     s.runTx,
		View:    s.viewTx,
		Dialect: sqltx.Dialect{IsUnique: isUniqueViolation, Time: sqlstore.TextTime},
		Now:     func() time.Time { return s.Now() },
	}
}

// Alarms returns the metric alarms (cloudwatch_alarms; the queries live in
// alarm/sqlstore). Every query names its account, and its tenant when the
// filter does.
func (s *DB) Alarms() alarm.Store {
	return &alarmsql.Store{Run: s.runTx, Dialect: sqltx.Dialect{IsUnique: isUniqueViolation, Time: sqlstore.TextTime}}
}
