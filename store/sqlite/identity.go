package sqlite

import (
	"crypto/rand"
	"time"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/identity/sqlstore"
)

// Identity returns the IAM entity store (the queries live in
// identity/sqlstore, shared with store/postgres). SQLite has no row-level
// security: every query filters by account explicitly.
func (s *DB) Identity() identity.Service { return s.identityStore() }

// Accounts returns the deployment's further accounts (the queries live in
// identity/sqlstore).
func (s *DB) Accounts() identity.AccountStore { return s.identityStore() }

func (s *DB) identityStore() *sqlstore.Store {
	return &sqlstore.Store{
		Run: s.runTx,
		// Reads use deferred, read-only transactions beside the writer.
		View: s.viewTx,
		Dialect: sqlstore.Dialect{
			IsUnique: isUniqueViolation,
			Time:     func(t time.Time) any { return formatTime(t) },
		},
		Now:  func() time.Time { return s.Now() },
		Rand: rand.Reader,
	}
}
