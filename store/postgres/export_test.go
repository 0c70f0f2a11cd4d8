package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// PoolForTest exposes the raw pool to the tests, which use it to run
// transactions that set neither tenant nor operator. Production code has no
// such door.
func (db *DB) PoolForTest() *pgxpool.Pool { return db.pool }
