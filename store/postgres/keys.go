package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// Keys returns the per-tenant key records and aliases (package keys). Every
// method but ListTenants runs in InTenant, so row-level security confines it
// to the tenant it is given; ListTenants (the operator sweeps) runs
// AsOperator.
func (db *DB) Keys() keys.Store { return &keyStore{db: db} }

type keyStore struct{ db *DB }

var _ keys.Store = (*keyStore)(nil)

func (k *keyStore) GetKey(ctx context.Context, tenant, id string) (*keys.Record, error) {
	r := &keys.Record{Tenant: tenant, ID: id}
	err := k.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT meta, keyset, revision FROM kms_keys WHERE tenant_id = $1 AND key_id = $2`, tenant, id).
			Scan(&r.Meta, &r.Keyset, &r.Revision)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
	}
	if err != nil {
		return nil, wrapUnlessCoded("get key", err)
	}
	return r, nil
}

func (k *keyStore) ListKeys(ctx context.Context, tenant string) ([]*keys.Record, error) {
	var out []*keys.Record
	err := k.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT key_id, meta, keyset, revision FROM kms_keys WHERE tenant_id = $1 ORDER BY key_id`, tenant)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := &keys.Record{Tenant: tenant}
			if err := rows.Scan(&r.ID, &r.Meta, &r.Keyset, &r.Revision); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrapUnlessCoded("list keys", err)
	}
	return out, nil
}

func (k *keyStore) PutKey(ctx context.Context, rec *keys.Record) (int64, error) {
	if rec.ID == "" && rec.Tenant != "" {
		return 0, tenantml.Errorf(tenantml.EINVALID, "key id is required")
	}
	next := rec.Revision + 1
	err := k.db.InTenant(ctx, rec.Tenant, func(tx pgx.Tx) error {
		if rec.Revision == 0 {
			_, err := tx.Exec(ctx, `INSERT INTO kms_keys (tenant_id, key_id, meta, keyset, revision) VALUES ($1, $2, $3, $4, 1)`,
				rec.Tenant, rec.ID, nonNilBytes(rec.Meta), nonNilBytes(rec.Keyset))
			if isUniqueViolation(err) {
				return tenantml.Errorf(tenantml.ECONFLICT, "key changed concurrently")
			}
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE kms_keys SET meta = $1, keyset = $2, revision = $3 WHERE tenant_id = $4 AND key_id = $5 AND revision = $6`,
			nonNilBytes(rec.Meta), nonNilBytes(rec.Keyset), next, rec.Tenant, rec.ID, rec.Revision)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return tenantml.Errorf(tenantml.ECONFLICT, "key changed concurrently")
		}
		return nil
	})
	if err != nil {
		return 0, wrapUnlessCoded("put key", err)
	}
	return next, nil
}

func (k *keyStore) DeleteKey(ctx context.Context, tenant, id string, revision int64) error {
	err := k.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, `SELECT revision FROM kms_keys WHERE tenant_id = $1 AND key_id = $2 FOR UPDATE`, tenant, id).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
		}
		if err != nil {
			return err
		}
		if cur != revision {
			return tenantml.Errorf(tenantml.ECONFLICT, "key changed concurrently")
		}
		_, err = tx.Exec(ctx, `DELETE FROM kms_keys WHERE tenant_id = $1 AND key_id = $2`, tenant, id)
		return err
	})
	return wrapUnlessCoded("delete key", err)
}

func (k *keyStore) GetAlias(ctx context.Context, tenant, name string) (*keys.Alias, error) {
	a := &keys.Alias{Tenant: tenant, Name: name}
	err := k.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT key_id, revision FROM kms_aliases WHERE tenant_id = $1 AND name = $2`, tenant, name).
			Scan(&a.KeyID, &a.Revision)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "alias not found")
	}
	if err != nil {
		return nil, wrapUnlessCoded("get alias", err)
	}
	return a, nil
}

func (k *keyStore) ListAliases(ctx context.Context, tenant string) ([]*keys.Alias, error) {
	var out []*keys.Alias
	err := k.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT name, key_id, revision FROM kms_aliases WHERE tenant_id = $1 ORDER BY name`, tenant)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a := &keys.Alias{Tenant: tenant}
			if err := rows.Scan(&a.Name, &a.KeyID, &a.Revision); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrapUnlessCoded("list aliases", err)
	}
	return out, nil
}

func (k *keyStore) PutAlias(ctx context.Context, a *keys.Alias) (int64, error) {
	if a.Name == "" && a.Tenant != "" {
		return 0, tenantml.Errorf(tenantml.EINVALID, "alias name is required")
	}
	next := a.Revision + 1
	err := k.db.InTenant(ctx, a.Tenant, func(tx pgx.Tx) error {
		if a.Revision == 0 {
			_, err := tx.Exec(ctx, `INSERT INTO kms_aliases (tenant_id, name, key_id, revision) VALUES ($1, $2, $3, 1)`, a.Tenant, a.Name, a.KeyID)
			if isUniqueViolation(err) {
				return tenantml.Errorf(tenantml.ECONFLICT, "alias changed concurrently")
			}
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE kms_aliases SET key_id = $1, revision = $2 WHERE tenant_id = $3 AND name = $4 AND revision = $5`,
			a.KeyID, next, a.Tenant, a.Name, a.Revision)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return tenantml.Errorf(tenantml.ECONFLICT, "alias changed concurrently")
		}
		return nil
	})
	if err != nil {
		return 0, wrapUnlessCoded("put alias", err)
	}
	return next, nil
}

func (k *keyStore) DeleteAlias(ctx context.Context, tenant, name string, revision int64) error {
	err := k.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, `SELECT revision FROM kms_aliases WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, tenant, name).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return tenantml.Errorf(tenantml.ENOTFOUND, "alias not found")
		}
		if err != nil {
			return err
		}
		if cur != revision {
			return tenantml.Errorf(tenantml.ECONFLICT, "alias changed concurrently")
		}
		_, err = tx.Exec(ctx, `DELETE FROM kms_aliases WHERE tenant_id = $1 AND name = $2`, tenant, name)
		return err
	})
	return wrapUnlessCoded("delete alias", err)
}

func (k *keyStore) ListTenants(ctx context.Context) ([]string, error) {
	var out []string
	err := k.db.AsOperator(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT tenant_id FROM kms_keys ORDER BY tenant_id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list key tenants: %w", err)
	}
	return out, nil
}

// wrapUnlessCoded returns nil for nil, a *tenantml.Error unchanged (its
// code must reach the caller) and wraps anything else with op.
func wrapUnlessCoded(op string, err error) error {
	if err == nil {
		return nil
	}
	var te *tenantml.Error
	if errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// FindKeyOwner implements keys.Store on the operator path: the one key
// read that spans tenants (key IDs are UUIDs, unique across tenants).
func (k *keyStore) FindKeyOwner(ctx context.Context, id string) (string, error) {
	var owners []string
	err := k.db.AsOperator(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id FROM kms_keys WHERE key_id = $1 LIMIT 2`, id)
		if err != nil {
			return err
		}
		owners, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return "", fmt.Errorf("find key owner: %w", err)
	}
	if len(owners) != 1 {
		return "", tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
	}
	return owners[0], nil
}
