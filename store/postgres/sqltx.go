package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/store/sqltx"
)

// dialect is PostgreSQL's, for the query packages shared with store/sqlite
// (identity/sqlstore, serving/sqlstore).
func dialect() sqltx.Dialect {
	return sqltx.Dialect{
		Numbered: true,
		RowLocks: true,
		IsUnique: isUniqueViolation,
		Time:     func(t time.Time) any { return t },
	}
}

// sqlRun adapts run (InTenant or AsOperator) to the shared query
// packages: fn gets the transaction as a sqltx.Tx.
func sqlRun(run func(context.Context, func(pgx.Tx) error) error) func(context.Context, func(sqltx.Tx) error) error {
	return func(ctx context.Context, fn func(sqltx.Tx) error) error {
		return run(ctx, func(tx pgx.Tx) error { return fn(pgxTx{tx}) })
	}
}

// pgxTx adapts a pgx transaction to sqltx.Tx.
type pgxTx struct{ tx pgx.Tx }

func (t pgxTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (t pgxTx) QueryRow(ctx context.Context, query string, args ...any) sqltx.Row {
	return t.tx.QueryRow(ctx, query, args...)
}

func (t pgxTx) Query(ctx context.Context, query string, args ...any) (sqltx.Rows, error) {
	return t.tx.Query(ctx, query, args...)
}
