package sqlite

import (
	"time"

	"github.com/tenantml/tenantml/promotion"
	promsql "github.com/tenantml/tenantml/promotion/sqlstore"
	"github.com/tenantml/tenantml/serving/sqlstore"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Pipelines returns the promotion pipelines and their runs (the queries
// live in promotion/sqlstore, shared with store/postgres).
func (s *DB) Pipelines() promotion.Store {
	return &promsql.Store{
		Run:     s.runTx,
		Dialect: sqltx.Dialect{IsUnique: isUniqueViolation, Time: sqlstore.TextTime},
		Now:     func() time.Time { return s.Now() },
	}
}
