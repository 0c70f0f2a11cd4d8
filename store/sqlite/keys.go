package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// Keys returns the per-tenant key records and aliases (package keys).
// Every query filters by the tenant it is given; an empty tenant is
// EINVALID. Writes and deletes run with PRAGMA secure_delete=ON so that a
// destroyed key's wrapped keyset is overwritten in the database file rather
// than left in free pages (the WAL still holds it until the next
// checkpoint).
func (s *DB) Keys() keys.Store { return &keyStore{db: s} }

type keyStore struct{ db *DB }

var _ keys.Store = (*keyStore)(nil)

func needTenant(tenant string) error {
	if tenant == "" {
		return tenantml.Errorf(tenantml.EINVALID, "tenant is required")
	}
	return nil
}

// inSecureTx runs fn in a write transaction on a connection with
// secure_delete on.
func (k *keyStore) inSecureTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return k.db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
			return fmt.Errorf("set secure_delete: %w", err)
		}
		return fn(tx)
	})
}

func (k *keyStore) GetKey(ctx context.Context, tenant, id string) (*keys.Record, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	r := &keys.Record{Tenant: tenant, ID: id}
	err := k.db.db.QueryRowContext(ctx, `SELECT meta, keyset, revision FROM kms_keys WHERE tenant_id = ? AND key_id = ?`, tenant, id).
		Scan(&r.Meta, &r.Keyset, &r.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	return r, nil
}

func (k *keyStore) ListKeys(ctx context.Context, tenant string) ([]*keys.Record, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	rows, err := k.db.db.QueryContext(ctx, `SELECT key_id, meta, keyset, revision FROM kms_keys WHERE tenant_id = ? ORDER BY key_id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []*keys.Record
	for rows.Next() {
		r := &keys.Record{Tenant: tenant}
		if err := rows.Scan(&r.ID, &r.Meta, &r.Keyset, &r.Revision); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

func (k *keyStore) PutKey(ctx context.Context, rec *keys.Record) (int64, error) {
	if err := needTenant(rec.Tenant); err != nil {
		return 0, err
	}
	if rec.ID == "" {
		return 0, tenantml.Errorf(tenantml.EINVALID, "key id is required")
	}
	next := rec.Revision + 1
	err := k.inSecureTx(ctx, func(tx *sql.Tx) error {
		if rec.Revision == 0 {
			_, err := tx.ExecContext(ctx, `INSERT INTO kms_keys (tenant_id, key_id, meta, keyset, revision) VALUES (?, ?, ?, ?, 1)`,
				rec.Tenant, rec.ID, nonNilBytes(rec.Meta), nonNilBytes(rec.Keyset))
			if isUniqueViolation(err) {
				return tenantml.Errorf(tenantml.ECONFLICT, "key changed concurrently")
			}
			if err != nil {
				return fmt.Errorf("insert key: %w", err)
			}
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE kms_keys SET meta = ?, keyset = ?, revision = ? WHERE tenant_id = ? AND key_id = ? AND revision = ?`,
			nonNilBytes(rec.Meta), nonNilBytes(rec.Keyset), next, rec.Tenant, rec.ID, rec.Revision)
		return oneRow(res, err, "update key")
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}

func (k *keyStore) DeleteKey(ctx context.Context, tenant, id string, revision int64) error {
	if err := needTenant(tenant); err != nil {
		return err
	}
	return k.inSecureTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM kms_keys WHERE tenant_id = ? AND key_id = ?`, tenant, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
		}
		if err != nil {
			return fmt.Errorf("delete key: %w", err)
		}
		if cur != revision {
			return tenantml.Errorf(tenantml.ECONFLICT, "key changed concurrently")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM kms_keys WHERE tenant_id = ? AND key_id = ?`, tenant, id)
		if err != nil {
			return fmt.Errorf("delete key: %w", err)
		}
		return nil
	})
}

func (k *keyStore) GetAlias(ctx context.Context, tenant, name string) (*keys.Alias, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	a := &keys.Alias{Tenant: tenant, Name: name}
	err := k.db.db.QueryRowContext(ctx, `SELECT key_id, revision FROM kms_aliases WHERE tenant_id = ? AND name = ?`, tenant, name).
		Scan(&a.KeyID, &a.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "alias not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get alias: %w", err)
	}
	return a, nil
}

func (k *keyStore) ListAliases(ctx context.Context, tenant string) ([]*keys.Alias, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	rows, err := k.db.db.QueryContext(ctx, `SELECT name, key_id, revision FROM kms_aliases WHERE tenant_id = ? ORDER BY name`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list aliases: %w", err)
	}
	defer rows.Close()
	var out []*keys.Alias
	for rows.Next() {
		a := &keys.Alias{Tenant: tenant}
		if err := rows.Scan(&a.Name, &a.KeyID, &a.Revision); err != nil {
			return nil, fmt.Errorf("list aliases: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list aliases: %w", err)
	}
	return out, nil
}

func (k *keyStore) PutAlias(ctx context.Context, a *keys.Alias) (int64, error) {
	if err := needTenant(a.Tenant); err != nil {
		return 0, err
	}
	if a.Name == "" {
		return 0, tenantml.Errorf(tenantml.EINVALID, "alias name is required")
	}
	next := a.Revision + 1
	err := k.db.inTx(ctx, func(tx *sql.Tx) error {
		if a.Revision == 0 {
			_, err := tx.ExecContext(ctx, `INSERT INTO kms_aliases (tenant_id, name, key_id, revision) VALUES (?, ?, ?, 1)`, a.Tenant, a.Name, a.KeyID)
			if isUniqueViolation(err) {
				return tenantml.Errorf(tenantml.ECONFLICT, "alias changed concurrently")
			}
			if err != nil {
				return fmt.Errorf("insert alias: %w", err)
			}
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE kms_aliases SET key_id = ?, revision = ? WHERE tenant_id = ? AND name = ? AND revision = ?`,
			a.KeyID, next, a.Tenant, a.Name, a.Revision)
		return oneRow(res, err, "update alias")
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}

func (k *keyStore) DeleteAlias(ctx context.Context, tenant, name string, revision int64) error {
	if err := needTenant(tenant); err != nil {
		return err
	}
	return k.db.inTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM kms_aliases WHERE tenant_id = ? AND name = ?`, tenant, name).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return tenantml.Errorf(tenantml.ENOTFOUND, "alias not found")
		}
		if err != nil {
			return fmt.Errorf("delete alias: %w", err)
		}
		if cur != revision {
			return tenantml.Errorf(tenantml.ECONFLICT, "alias changed concurrently")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kms_aliases WHERE tenant_id = ? AND name = ?`, tenant, name); err != nil {
			return fmt.Errorf("delete alias: %w", err)
		}
		return nil
	})
}

func (k *keyStore) ListTenants(ctx context.Context) ([]string, error) {
	rows, err := k.db.db.QueryContext(ctx, `SELECT DISTINCT tenant_id FROM kms_keys ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("list key tenants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("list key tenants: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list key tenants: %w", err)
	}
	return out, nil
}

// oneRow turns an UPDATE that matched no row (missing or at another
// revision) into ECONFLICT.
func oneRow(res sql.Result, err error, op string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n != 1 {
		return tenantml.Errorf(tenantml.ECONFLICT, "changed concurrently or missing")
	}
	return nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// FindKeyOwner implements keys.Store: the one key read that spans
// tenants (key IDs are UUIDs, unique across tenants).
func (k *keyStore) FindKeyOwner(ctx context.Context, id string) (string, error) {
	var owners []string
	rows, err := k.db.db.QueryContext(ctx, `SELECT tenant_id FROM kms_keys WHERE key_id = ? LIMIT 2`, id)
	if err != nil {
		return "", fmt.Errorf("find key owner: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return "", fmt.Errorf("find key owner: %w", err)
		}
		owners = append(owners, t)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("find key owner: %w", err)
	}
	if len(owners) != 1 {
		return "", tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
	}
	return owners[0], nil
}
