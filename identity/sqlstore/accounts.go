package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
)

var _ identity.AccountStore = (*Store)(nil)

const accountCols = `account_id, name, root_key_id, created_at`

func scanAccount(r Row) (*identity.Account, error) {
	a := &identity.Account{}
	if err := r.Scan(&a.ID, &a.Name, &a.RootAccessKeyID, timeCol{t: &a.CreatedAt}); err != nil {
		return nil, err
	}
	return a, nil
}

// CreateAccount implements identity.AccountStore.
func (s *Store) CreateAccount(ctx context.Context, a *identity.Account) error {
	if err := validAccount(a.ID); err != nil {
		return err
	}
	if err := identity.ValidateAccountName(a.Name); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		_, err := q.exec(`INSERT INTO accounts (account_id, name, name_lc, root_key_id, created_at) VALUES (?, ?, ?, ?, ?)`,
			a.ID, a.Name, lower(a.Name), a.RootAccessKeyID, q.time(a.CreatedAt))
		if q.Dialect.IsUnique(err) {
			return tenantml.Errorf(tenantml.ECONFLICT, "account %s already exists", a.Name)
		}
		if err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		return nil
	})
}

// GetAccount implements identity.AccountStore.
func (s *Store) GetAccount(ctx context.Context, id string) (*identity.Account, error) {
	return s.oneAccount(ctx, `SELECT `+accountCols+` FROM accounts WHERE account_id = ?`, id)
}

// FindAccountByRootKey implements identity.AccountStore.
func (s *Store) FindAccountByRootKey(ctx context.Context, keyID string) (*identity.Account, error) {
	return s.oneAccount(ctx, `SELECT `+accountCols+` FROM accounts WHERE root_key_id = ?`, keyID)
}

func (s *Store) oneAccount(ctx context.Context, query, arg string) (*identity.Account, error) {
	var a *identity.Account
	err := s.view(ctx, func(q *txn) error {
		var err error
		a, err = scanAccount(q.row(query, arg))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "account %q not found", arg)
	}
	if err != nil {
		return nil, fmt.Errorf("get account: %w", err)
	}
	return a, nil
}

// ListAccounts implements identity.AccountStore.
func (s *Store) ListAccounts(ctx context.Context) ([]*identity.Account, error) {
	var out []*identity.Account
	err := s.view(ctx, func(q *txn) error {
		rows, err := q.rows(`SELECT ` + accountCols + ` FROM accounts ORDER BY name_lc`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// SetAccountRootKey implements identity.AccountStore.
func (s *Store) SetAccountRootKey(ctx context.Context, id, old, keyID string) (bool, error) {
	var n int64
	err := s.do(ctx, func(q *txn) error {
		var err error
		n, err = q.exec(`UPDATE accounts SET root_key_id = ? WHERE account_id = ? AND root_key_id = ?`, keyID, id, old)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("set account root key: %w", err)
	}
	return n == 1, nil
}
