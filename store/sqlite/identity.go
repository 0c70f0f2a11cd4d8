package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"time"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/identity/sqlstore"
)

// Identity returns the IAM entity store (the queries live in
// identity/sqlstore, shared with store/postgres). SQLite has no row-level
// security: every query filters by account explicitly.
func (s *DB) Identity() identity.Service {
	return &sqlstore.Store{
		Run: func(ctx context.Context, fn func(sqlstore.Tx) error) error {
			return s.inTx(ctx, func(tx *sql.Tx) error { return fn(sqlstore.FromSQL(tx)) })
		},
		// Reads use deferred, read-only transactions: in WAL mode they
		// run beside the writer instead of queueing for BEGIN IMMEDIATE.
		View: func(ctx context.Context, fn func(sqlstore.Tx) error) error {
			tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				return fmt.Errorf("begin: %w", err)
			}
			defer func() { _ = tx.Rollback() }()
			if err := fn(sqlstore.FromSQL(tx)); err != nil {
				return err
			}
			return tx.Commit()
		},
		Dialect: sqlstore.Dialect{
			IsUnique: isUniqueViolation,
			Time:     func(t time.Time) any { return formatTime(t) },
		},
		Now:  func() time.Time { return s.Now() },
		Rand: rand.Reader,
	}
}
