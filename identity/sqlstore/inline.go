package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml/identity"
)

// MaxAttachedPolicies is IAM's default limit on managed policies attached
// to one user, role or group.
const MaxAttachedPolicies = 10

// tableOf maps a principal kind to its table.
func tableOf(k identity.Kind) string {
	switch k {
	case identity.KindUser:
		return "iam_users"
	case identity.KindRole:
		return "iam_roles"
	}
	return "iam_groups"
}

// principalTenant checks that the user, role or group exists and returns
// its tenant and name as stored.
func (q *txn) principalTenant(acct string, r identity.Ref) (tenant string, err error) {
	err = q.row(`SELECT tenant_id FROM `+tableOf(r.Kind)+` WHERE account_id = ? AND name_lc = ?`, acct, lower(r.Name)).Scan(&tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return "", noSuch(string(r.Kind), r.Name)
	}
	if err != nil {
		return "", fmt.Errorf("look up %s: %w", r.Kind, err)
	}
	return tenant, nil
}

func checkRef(acct string, r identity.Ref) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return identity.ValidateRef(r)
}

// PutInlinePolicy implements identity.Service.
func (s *Store) PutInlinePolicy(ctx context.Context, acct string, to identity.Ref, name, document string) error {
	if err := checkRef(acct, to); err != nil {
		return err
	}
	if err := identity.ValidateInlineName(name); err != nil {
		return err
	}
	if err := identity.ValidateDocument(identity.DocInline, document); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		tenant, err := q.principalTenant(acct, to)
		if err != nil {
			return err
		}
		if _, err := q.exec(`INSERT INTO iam_inline_policies (account_id, kind, principal_lc, name, tenant_id, document) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, kind, principal_lc, name) DO UPDATE SET document = excluded.document`,
			acct, string(to.Kind), lower(to.Name), name, tenant, document); err != nil {
			return fmt.Errorf("put inline policy: %w", err)
		}
		return nil
	})
}

// GetInlinePolicy implements identity.Service.
func (s *Store) GetInlinePolicy(ctx context.Context, acct string, of identity.Ref, name string) (string, error) {
	if err := checkRef(acct, of); err != nil {
		return "", err
	}
	var doc string
	err := s.view(ctx, func(q *txn) error {
		if _, err := q.principalTenant(acct, of); err != nil {
			return err
		}
		err := q.row(`SELECT document FROM iam_inline_policies WHERE account_id = ? AND kind = ? AND principal_lc = ? AND name = ?`,
			acct, string(of.Kind), lower(of.Name), name).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return identity.Errorf(identity.NoSuchEntity, "the %s policy with name %s cannot be found", of.Kind, name)
		}
		if err != nil {
			return fmt.Errorf("get inline policy: %w", err)
		}
		return nil
	})
	return doc, err
}

// DeleteInlinePolicy implements identity.Service.
func (s *Store) DeleteInlinePolicy(ctx context.Context, acct string, of identity.Ref, name string) error {
	if err := checkRef(acct, of); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if _, err := q.principalTenant(acct, of); err != nil {
			return err
		}
		n, err := q.exec(`DELETE FROM iam_inline_policies WHERE account_id = ? AND kind = ? AND principal_lc = ? AND name = ?`,
			acct, string(of.Kind), lower(of.Name), name)
		if err != nil {
			return fmt.Errorf("delete inline policy: %w", err)
		}
		if n == 0 {
			return identity.Errorf(identity.NoSuchEntity, "the %s policy with name %s cannot be found", of.Kind, name)
		}
		return nil
	})
}

// ListInlinePolicies implements identity.Service.
func (s *Store) ListInlinePolicies(ctx context.Context, acct string, of identity.Ref, opt identity.ListOptions) ([]string, string, error) {
	if err := checkRef(acct, of); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []string
	err = s.view(ctx, func(q *txn) error {
		if _, err := q.principalTenant(acct, of); err != nil {
			return err
		}
		rows, err := q.rows(`SELECT name FROM iam_inline_policies WHERE account_id = ? AND kind = ? AND principal_lc = ? AND name > ? ORDER BY name LIMIT ?`,
			acct, string(of.Kind), lower(of.Name), opt.Marker, n+1)
		if err != nil {
			return fmt.Errorf("list inline policies: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return fmt.Errorf("list inline policies: %w", err)
			}
			out = append(out, name)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	if len(out) > n {
		return out[:n], out[n-1], nil
	}
	return out, "", nil
}

// AttachPolicy implements identity.Service.
func (s *Store) AttachPolicy(ctx context.Context, acct string, to identity.Ref, policyARN string) error {
	if err := checkRef(acct, to); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if err := q.lock(tableOf(to.Kind), acct, to.Name); err != nil {
			return err
		}
		tenant, err := q.principalTenant(acct, to)
		if err != nil {
			return err
		}
		if err := q.policyExists(acct, policyARN); err != nil {
			return err
		}
		c, err := q.count(`SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND kind = ? AND principal_lc = ? AND policy_arn <> ?`,
			acct, string(to.Kind), lower(to.Name), policyARN)
		if err != nil {
			return fmt.Errorf("attach policy: %w", err)
		}
		if c >= MaxAttachedPolicies {
			return identity.Errorf(identity.LimitExceeded, "%s %s already has %d attached policies", to.Kind, to.Name, c)
		}
		if _, err := q.exec(`INSERT INTO iam_attachments (account_id, kind, principal_lc, policy_arn, tenant_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			acct, string(to.Kind), lower(to.Name), policyARN, tenant); err != nil {
			return fmt.Errorf("attach policy: %w", err)
		}
		return nil
	})
}

// DetachPolicy implements identity.Service.
func (s *Store) DetachPolicy(ctx context.Context, acct string, from identity.Ref, policyARN string) error {
	if err := checkRef(acct, from); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		if _, err := q.principalTenant(acct, from); err != nil {
			return err
		}
		n, err := q.exec(`DELETE FROM iam_attachments WHERE account_id = ? AND kind = ? AND principal_lc = ? AND policy_arn = ?`,
			acct, string(from.Kind), lower(from.Name), policyARN)
		if err != nil {
			return fmt.Errorf("detach policy: %w", err)
		}
		if n == 0 {
			return identity.Errorf(identity.NoSuchEntity, "policy %s is not attached to %s %s", policyARN, from.Kind, from.Name)
		}
		return nil
	})
}

// ListAttachedPolicies implements identity.Service. PathPrefix filters on
// the policy's path.
func (s *Store) ListAttachedPolicies(ctx context.Context, acct string, of identity.Ref, opt identity.ListOptions) ([]identity.AttachedPolicy, string, error) {
	if err := checkRef(acct, of); err != nil {
		return nil, "", err
	}
	n, err := page(opt)
	if err != nil {
		return nil, "", err
	}
	var out []identity.AttachedPolicy
	err = s.view(ctx, func(q *txn) error {
		if _, err := q.principalTenant(acct, of); err != nil {
			return err
		}
		rows, err := q.rows(`SELECT policy_arn FROM iam_attachments WHERE account_id = ? AND kind = ? AND principal_lc = ? AND policy_arn > ? ORDER BY policy_arn`,
			acct, string(of.Kind), lower(of.Name), opt.Marker)
		if err != nil {
			return fmt.Errorf("list attached policies: %w", err)
		}
		defer rows.Close()
		for rows.Next() && len(out) <= n {
			var arn string
			if err := rows.Scan(&arn); err != nil {
				return fmt.Errorf("list attached policies: %w", err)
			}
			_, path, name, err := identity.ParsePolicyARN(arn)
			if err != nil {
				return fmt.Errorf("list attached policies: stored %w", err)
			}
			if opt.PathPrefix != "" && (len(path) < len(opt.PathPrefix) || path[:len(opt.PathPrefix)] != opt.PathPrefix) {
				continue
			}
			out = append(out, identity.AttachedPolicy{PolicyName: name, PolicyARN: arn})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	if len(out) > n {
		return out[:n], out[n-1].PolicyARN, nil
	}
	return out, "", nil
}
