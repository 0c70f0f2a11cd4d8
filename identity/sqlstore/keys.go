package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenantml/tenantml/identity"
)

// CreateAccessKey implements identity.Service.
func (s *Store) CreateAccessKey(ctx context.Context, acct string, k *identity.AccessKey) error {
	if err := k.Prepare(acct, s.Rand, s.Now()); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if err := q.lock("iam_users", acct, k.UserName); err != nil {
			return err
		}
		u, err := q.findUser(acct, k.UserName)
		if err != nil {
			return err
		}
		n, err := q.count(`SELECT COUNT(*) FROM iam_access_keys WHERE account_id = ? AND user_lc = ?`, acct, lower(u.Name))
		if err != nil {
			return fmt.Errorf("create access key: %w", err)
		}
		if n >= identity.MaxAccessKeysPerUser {
			return identity.Errorf(identity.LimitExceeded, "user %s already has %d access keys", u.Name, n)
		}
		_, err = q.exec(`INSERT INTO iam_access_keys (key_id, account_id, user_lc, tenant_id, status, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, acct, lower(u.Name), u.TenantID, k.Status, k.SealedSecret, q.time(k.CreatedAt))
		if s.Dialect.IsUnique(err) {
			return identity.Errorf(identity.EntityAlreadyExists, "access key %s already exists", k.ID)
		}
		if err != nil {
			return fmt.Errorf("create access key: %w", err)
		}
		k.UserName, k.UserID, k.UserARN, k.TenantID = u.Name, u.ID, u.ARN, u.TenantID
		return nil
	})
}

const keyCols = `k.key_id, k.account_id, u.name, u.user_id, u.path, k.tenant_id, k.status, k.created_at, k.last_used_at`

func scanKey(sc scanner, extra ...any) (*identity.AccessKey, error) {
	k := &identity.AccessKey{}
	var path string
	dst := append([]any{&k.ID, &k.AccountID, &k.UserName, &k.UserID, &path, &k.TenantID, &k.Status, timeCol{t: &k.CreatedAt}, timeCol{p: &k.LastUsedAt}}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	k.UserARN = identity.EntityARN(k.AccountID, "user", path, k.UserName)
	return k, nil
}

// GetAccessKey implements identity.Service.
func (s *Store) GetAccessKey(ctx context.Context, keyID string) (*identity.AccessKey, error) {
	if err := identity.ValidateAccessKeyID(keyID); err != nil {
		return nil, err
	}
	var k *identity.AccessKey
	err := s.view(ctx, func(q *txn) error {
		var secret []byte
		var err error
		k, err = scanKey(q.row(`SELECT `+keyCols+`, k.secret FROM iam_access_keys k JOIN iam_users u ON u.account_id = k.account_id AND u.name_lc = k.user_lc
			WHERE k.key_id = ?`, keyID), &secret)
		if errors.Is(err, sql.ErrNoRows) {
			return identity.Errorf(identity.NoSuchEntity, "the access key %s cannot be found", keyID)
		}
		if err != nil {
			return fmt.Errorf("get access key: %w", err)
		}
		k.SealedSecret = secret
		return nil
	})
	return k, err
}

// ListAccessKeys implements identity.Service.
func (s *Store) ListAccessKeys(ctx context.Context, acct, user string) ([]*identity.AccessKey, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var out []*identity.AccessKey
	err := s.view(ctx, func(q *txn) error {
		if _, err := q.findUser(acct, user); err != nil {
			return err
		}
		var err error
		out, err = queryAll(q, "access keys", func(sc scanner) (*identity.AccessKey, error) { return scanKey(sc) },
			`SELECT `+keyCols+` FROM iam_access_keys k JOIN iam_users u ON u.account_id = k.account_id AND u.name_lc = k.user_lc
			WHERE k.account_id = ? AND k.user_lc = ? ORDER BY k.created_at, k.key_id`, acct, lower(user))
		return err
	})
	return out, err
}

// updateKey runs one statement on a user's key; NoSuchEntity when the user
// or key is missing.
func (s *Store) updateKey(ctx context.Context, acct, user, keyID, stmt string, args ...any) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if _, err := q.findUser(acct, user); err != nil {
			return err
		}
		n, err := q.exec(stmt+` WHERE account_id = ? AND user_lc = ? AND key_id = ?`, append(args, acct, lower(user), keyID)...)
		if err != nil {
			return fmt.Errorf("access key: %w", err)
		}
		if n == 0 {
			return identity.Errorf(identity.NoSuchEntity, "the access key %s of user %s cannot be found", keyID, user)
		}
		return nil
	})
}

// UpdateAccessKey implements identity.Service.
func (s *Store) UpdateAccessKey(ctx context.Context, acct, user, keyID, status string) error {
	if err := identity.ValidateStatus(status); err != nil {
		return err
	}
	return s.updateKey(ctx, acct, user, keyID, `UPDATE iam_access_keys SET status = ?`, status)
}

// DeleteAccessKey implements identity.Service.
func (s *Store) DeleteAccessKey(ctx context.Context, acct, user, keyID string) error {
	return s.updateKey(ctx, acct, user, keyID, `DELETE FROM iam_access_keys`)
}

// RecordAccessKeyUse implements identity.Service.
func (s *Store) RecordAccessKeyUse(ctx context.Context, keyID string, at time.Time) error {
	return s.do(ctx, func(q *txn) error {
		n, err := q.exec(`UPDATE iam_access_keys SET last_used_at = ? WHERE key_id = ?`, q.time(at), keyID)
		if err != nil {
			return fmt.Errorf("record access key use: %w", err)
		}
		if n == 0 {
			return identity.Errorf(identity.NoSuchEntity, "the access key %s cannot be found", keyID)
		}
		return nil
	})
}

const oidcCols = `account_id, arn, url, client_ids, thumbprints, claim_tags, tags, tenant_id, created_at`

func scanOIDC(sc scanner) (*identity.OIDCProvider, error) {
	p := &identity.OIDCProvider{}
	err := sc.Scan(&p.AccountID, &p.ARN, &p.URL, jsonCol{&p.ClientIDs}, jsonCol{&p.Thumbprints}, jsonCol{&p.ClaimTags}, jsonCol{&p.Tags}, &p.TenantID, timeCol{t: &p.CreatedAt})
	return p, err
}

func (s *Store) findOIDC(ctx context.Context, acct, where, arg string) (*identity.OIDCProvider, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var p *identity.OIDCProvider
	err := s.view(ctx, func(q *txn) error {
		var err error
		p, err = scanOIDC(q.row(`SELECT `+oidcCols+` FROM iam_oidc_providers WHERE account_id = ? AND `+where+` = ?`, acct, arg))
		if errors.Is(err, sql.ErrNoRows) {
			return identity.Errorf(identity.NoSuchEntity, "OpenIDConnect provider %s not found", arg)
		}
		if err != nil {
			return fmt.Errorf("get oidc provider: %w", err)
		}
		return nil
	})
	return p, err
}

// CreateOpenIDConnectProvider implements identity.Service.
func (s *Store) CreateOpenIDConnectProvider(ctx context.Context, acct string, p *identity.OIDCProvider) error {
	if err := p.Prepare(acct, s.Now()); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		_, err := q.exec(`INSERT INTO iam_oidc_providers (account_id, arn, url, client_ids, thumbprints, claim_tags, tags, tenant_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			acct, p.ARN, p.URL, toJSON(nonNil(p.ClientIDs)), toJSON(nonNil(p.Thumbprints)), toJSON(p.ClaimTags), toJSON(p.Tags), p.TenantID, q.time(p.CreatedAt))
		if s.Dialect.IsUnique(err) {
			return identity.Errorf(identity.EntityAlreadyExists, "provider with url %s already exists", p.URL)
		}
		if err != nil {
			return fmt.Errorf("create oidc provider: %w", err)
		}
		return nil
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetOpenIDConnectProvider implements identity.Service.
func (s *Store) GetOpenIDConnectProvider(ctx context.Context, acct, providerARN string) (*identity.OIDCProvider, error) {
	return s.findOIDC(ctx, acct, "arn", providerARN)
}

// FindOpenIDConnectProvider implements identity.Service.
func (s *Store) FindOpenIDConnectProvider(ctx context.Context, acct, issuerURL string) (*identity.OIDCProvider, error) {
	issuer, _, err := identity.NormalizeIssuer(issuerURL)
	if err != nil {
		return nil, identity.Errorf(identity.NoSuchEntity, "OpenIDConnect provider %s not found", issuerURL)
	}
	return s.findOIDC(ctx, acct, "url", issuer)
}

// ListOpenIDConnectProviders implements identity.Service.
func (s *Store) ListOpenIDConnectProviders(ctx context.Context, acct string) ([]*identity.OIDCProvider, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var out []*identity.OIDCProvider
	err := s.view(ctx, func(q *txn) error {
		var err error
		out, err = queryAll(q, "oidc providers", scanOIDC, `SELECT `+oidcCols+` FROM iam_oidc_providers WHERE account_id = ? ORDER BY arn`, acct)
		return err
	})
	return out, err
}

// DeleteOpenIDConnectProvider implements identity.Service.
func (s *Store) DeleteOpenIDConnectProvider(ctx context.Context, acct, providerARN string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		n, err := q.exec(`DELETE FROM iam_oidc_providers WHERE account_id = ? AND arn = ?`, acct, providerARN)
		if err != nil {
			return fmt.Errorf("delete oidc provider: %w", err)
		}
		if n == 0 {
			return identity.Errorf(identity.NoSuchEntity, "OpenIDConnect provider %s not found", providerARN)
		}
		return nil
	})
}
