package sqlite

import "database/sql"

// SQLDB is the connection pool, for tests.
func (s *DB) SQLDB() *sql.DB { return s.db }

// Prepares counts the statements QueryContext prepared, for tests.
func (s *DB) Prepares() int64 { return s.conns.prepares.Load() }
