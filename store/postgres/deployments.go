package postgres

import (
	"time"

	"github.com/tenantml/tenantml/alarm"
	alarmsql "github.com/tenantml/tenantml/alarm/sqlstore"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/sqlstore"
)

// Rollouts returns the endpoints' blue/green updates on the operator path,
// as Serving: the API authorizes each call before it reaches the store.
func (db *DB) Rollouts() serving.RolloutStore {
	return &sqlstore.Store{Run: sqlRun(db.AsOperator), Dialect: dialect(), Now: func() time.Time { return db.Now() }}
}

// Alarms returns the metric alarms on the operator path: the alarm
// service filters by the caller's tenant (row-level security keeps a
// tenant-scoped transaction to its own rows as well).
func (db *DB) Alarms() alarm.Store {
	return &alarmsql.Store{Run: sqlRun(db.AsOperator), Dialect: dialect()}
}
