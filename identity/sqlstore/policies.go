package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml/identity"
)

const policyCols = `p.account_id, p.name, p.path, p.policy_id, p.arn, p.tenant_id, p.description, p.default_version, p.tags, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM iam_attachments a WHERE a.account_id = p.account_id AND a.policy_arn = p.arn),
	(SELECT COUNT(*) FROM iam_users u WHERE u.account_id = p.account_id AND u.boundary_arn = p.arn) +
	(SELECT COUNT(*) FROM iam_roles r WHERE r.account_id = p.account_id AND r.boundary_arn = p.arn)`

func scanPolicy(sc scanner) (*identity.Policy, error) {
	p := &identity.Policy{}
	var def int
	if err := sc.Scan(&p.AccountID, &p.Name, &p.Path, &p.ID, &p.ARN, &p.TenantID, &p.Description, &def, jsonCol{&p.Tags},
		timeCol{t: &p.CreatedAt}, timeCol{t: &p.UpdatedAt}, &p.AttachmentCount, &p.BoundaryUsageCount); err != nil {
		return nil, err
	}
	p.DefaultVersionID = "v" + strconv.Itoa(def)
	return p, nil
}

// findPolicy returns a policy of acct, or a built-in policy with its usage
// counts in acct.
func (q *txn) findPolicy(acct, arn string) (*identity.Policy, error) {
	pa, _, _, err := identity.ParsePolicyARN(arn)
	if err != nil {
		return nil, err
	}
	if pa == identity.BuiltinAccount {
		p, ok := identity.BuiltinPolicy(arn)
		if !ok {
			return nil, identity.ErrNoSuchPolicy(arn)
		}
		if err := q.row(`SELECT (SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND policy_arn = ?),
			(SELECT COUNT(*) FROM iam_users WHERE account_id = ? AND boundary_arn = ?) + (SELECT COUNT(*) FROM iam_roles WHERE account_id = ? AND boundary_arn = ?)`,
			acct, arn, acct, arn, acct, arn).Scan(&p.AttachmentCount, &p.BoundaryUsageCount); err != nil {
			return nil, fmt.Errorf("get policy: %w", err)
		}
		return p, nil
	}
	if pa != acct {
		return nil, identity.ErrNoSuchPolicy(arn)
	}
	p, err := scanPolicy(q.row(`SELECT `+policyCols+` FROM iam_policies p WHERE p.account_id = ? AND p.arn = ?`, acct, arn))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNoSuchPolicy(arn)
	}
	if err != nil {
		return nil, fmt.Errorf("get policy: %w", err)
	}
	return p, nil
}

// CreatePolicy implements identity.Service.
func (s *Store) CreatePolicy(ctx context.Context, acct string, p *identity.Policy, document string) error {
	if err := p.Prepare(acct, document, s.Rand, s.Now()); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		_, err := q.exec(`INSERT INTO iam_policies (account_id, name_lc, name, path, policy_id, arn, tenant_id, description, default_version, next_version, tags, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 2, ?, ?, ?)`,
			acct, lower(p.Name), p.Name, p.Path, p.ID, p.ARN, p.TenantID, p.Description, toJSON(p.Tags), q.time(p.CreatedAt), q.time(p.UpdatedAt))
		if s.Dialect.IsUnique(err) {
			return exists("policy", p.Name)
		}
		if err != nil {
			return fmt.Errorf("create policy: %w", err)
		}
		if _, err := q.exec(`INSERT INTO iam_policy_versions (account_id, policy_arn, version, tenant_id, document, created_at) VALUES (?, ?, 1, ?, ?, ?)`,
			acct, p.ARN, p.TenantID, document, q.time(p.CreatedAt)); err != nil {
			return fmt.Errorf("create policy version: %w", err)
		}
		return nil
	})
}

// GetPolicy implements identity.Service.
func (s *Store) GetPolicy(ctx context.Context, acct, policyARN string) (*identity.Policy, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var p *identity.Policy
	err := s.view(ctx, func(q *txn) (err error) {
		p, err = q.findPolicy(acct, policyARN)
		return err
	})
	return p, err
}

// ListPolicies implements identity.Service. Built-in policies come first
// (markers "b:<name>"), then the account's own (markers "l:<name>").
func (s *Store) ListPolicies(ctx context.Context, acct string, opt identity.PolicyListOptions) ([]*identity.Policy, string, error) {
	if err := validAccount(acct); err != nil {
		return nil, "", err
	}
	n, err := page(opt.ListOptions)
	if err != nil {
		return nil, "", err
	}
	scope := opt.Scope
	if scope == "" {
		scope = identity.ScopeAll
	}
	if scope != identity.ScopeAll && scope != identity.ScopeAWS && scope != identity.ScopeLocal {
		return nil, "", identity.Errorf(identity.ValidationError, "scope %q must be All, AWS or Local", scope)
	}
	phase, after, ok := strings.Cut(opt.Marker, ":")
	if opt.Marker == "" {
		phase, after, ok = "b", "", true
	}
	if !ok || (phase != "b" && phase != "l") {
		return nil, "", identity.Errorf(identity.ValidationError, "invalid marker")
	}
	var out []*identity.Policy
	err = s.view(ctx, func(q *txn) error {
		if phase == "b" && scope != identity.ScopeLocal {
			for _, b := range identity.BuiltinPolicies() {
				if b.Name <= after || !strings.HasPrefix(b.Path, opt.PathPrefix) {
					continue
				}
				p, err := q.findPolicy(acct, b.ARN)
				if err != nil {
					return err
				}
				if opt.OnlyAttached && p.AttachmentCount == 0 {
					continue
				}
				out = append(out, p)
			}
			after = ""
		}
		if scope == identity.ScopeAWS || len(out) > n {
			return nil
		}
		f, fargs := pathFilter("p.path", opt.PathPrefix)
		tf, targs := tenantFilter("p.tenant_id", opt.TenantID)
		f, fargs = f+tf, append(fargs, targs...)
		if opt.OnlyAttached {
			f += ` AND EXISTS (SELECT 1 FROM iam_attachments a WHERE a.account_id = p.account_id AND a.policy_arn = p.arn)`
		}
		args := append([]any{acct, lower(after)}, fargs...)
		local, err := queryAll(q, "policies", scanPolicy, `SELECT `+policyCols+` FROM iam_policies p WHERE p.account_id = ? AND p.name_lc > ?`+f+` ORDER BY p.name_lc LIMIT ?`, append(args, n+1-len(out))...)
		out = append(out, local...)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if len(out) <= n {
		return out, "", nil
	}
	last := out[n-1]
	if last.Builtin {
		return out[:n], "b:" + last.Name, nil
	}
	return out[:n], "l:" + lower(last.Name), nil
}

// DeletePolicy implements identity.Service.
func (s *Store) DeletePolicy(ctx context.Context, acct, policyARN string) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		p, err := q.findPolicy(acct, policyARN)
		if err != nil {
			return err
		}
		if p.Builtin {
			return identity.Errorf(identity.InvalidInput, "built-in policy %s is read-only", p.Name)
		}
		switch {
		case p.AttachmentCount > 0:
			return identity.Errorf(identity.DeleteConflict, "cannot delete policy %s: it is attached to %d entities", p.Name, p.AttachmentCount)
		case p.BoundaryUsageCount > 0:
			return identity.Errorf(identity.DeleteConflict, "cannot delete policy %s: it is the permissions boundary of %d entities", p.Name, p.BoundaryUsageCount)
		}
		n, err := q.count(`SELECT COUNT(*) FROM iam_policy_versions WHERE policy_arn = ?`, p.ARN)
		if err != nil {
			return fmt.Errorf("delete policy: %w", err)
		}
		if n > 1 {
			return identity.Errorf(identity.DeleteConflict, "cannot delete policy %s: delete its %d non-default versions first", p.Name, n-1)
		}
		if _, err := q.exec(`DELETE FROM iam_policy_versions WHERE policy_arn = ?`, p.ARN); err != nil {
			return fmt.Errorf("delete policy: %w", err)
		}
		if _, err := q.exec(`DELETE FROM iam_policies WHERE account_id = ? AND arn = ?`, acct, p.ARN); err != nil {
			return fmt.Errorf("delete policy: %w", err)
		}
		return nil
	})
}

// parseVersion reads "v<N>".
func parseVersion(id string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if !strings.HasPrefix(id, "v") || err != nil || n < 1 || strconv.Itoa(n) != id[1:] {
		return 0, identity.Errorf(identity.ValidationError, "version ID %q must be v followed by a number", id)
	}
	return n, nil
}

// ownPolicy finds a customer-managed policy of acct for a write.
func (q *txn) ownPolicy(acct, arn string) (*identity.Policy, error) {
	p, err := q.findPolicy(acct, arn)
	if err != nil {
		return nil, err
	}
	if p.Builtin {
		return nil, identity.Errorf(identity.InvalidInput, "built-in policy %s is read-only", p.Name)
	}
	return p, nil
}

// CreatePolicyVersion implements identity.Service.
func (s *Store) CreatePolicyVersion(ctx context.Context, acct, policyARN, document string, setAsDefault bool) (*identity.PolicyVersion, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	if err := identity.ValidateDocument(identity.DocManaged, document); err != nil {
		return nil, err
	}
	var v *identity.PolicyVersion
	err := s.do(ctx, func(q *txn) error {
		if _, _, name, err := identity.ParsePolicyARN(policyARN); err == nil {
			if err := q.lock("iam_policies", acct, name); err != nil {
				return err
			}
		}
		p, err := q.ownPolicy(acct, policyARN)
		if err != nil {
			return err
		}
		var count, next int
		if err := q.row(`SELECT (SELECT COUNT(*) FROM iam_policy_versions WHERE policy_arn = ?), next_version FROM iam_policies WHERE account_id = ? AND arn = ?`,
			p.ARN, acct, p.ARN).Scan(&count, &next); err != nil {
			return fmt.Errorf("create policy version: %w", err)
		}
		if count >= identity.MaxPolicyVersions {
			return identity.Errorf(identity.LimitExceeded, "policy %s already has %d versions; delete one first", p.Name, count)
		}
		now := s.Now().UTC().Truncate(time.Microsecond)
		if _, err := q.exec(`INSERT INTO iam_policy_versions (account_id, policy_arn, version, tenant_id, document, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			acct, p.ARN, next, p.TenantID, document, q.time(now)); err != nil {
			return fmt.Errorf("create policy version: %w", err)
		}
		set := `next_version = ?, updated_at = ?`
		args := []any{next + 1, q.time(now)}
		if setAsDefault {
			set += `, default_version = ?`
			args = append(args, next)
		}
		if _, err := q.exec(`UPDATE iam_policies SET `+set+` WHERE account_id = ? AND arn = ?`, append(args, acct, p.ARN)...); err != nil {
			return fmt.Errorf("create policy version: %w", err)
		}
		v = &identity.PolicyVersion{PolicyARN: p.ARN, VersionID: "v" + strconv.Itoa(next), Document: document, IsDefault: setAsDefault, CreatedAt: now}
		return nil
	})
	return v, err
}

// GetPolicyVersion implements identity.Service.
func (s *Store) GetPolicyVersion(ctx context.Context, acct, policyARN, versionID string) (*identity.PolicyVersion, error) {
	vs, err := s.ListPolicyVersions(ctx, acct, policyARN)
	if err != nil {
		return nil, err
	}
	if _, err := parseVersion(versionID); err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.VersionID == versionID {
			return v, nil
		}
	}
	return nil, identity.Errorf(identity.NoSuchEntity, "policy %s has no version %s", policyARN, versionID)
}

// ListPolicyVersions implements identity.Service. Versions come newest
// first, with their documents.
func (s *Store) ListPolicyVersions(ctx context.Context, acct, policyARN string) ([]*identity.PolicyVersion, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var out []*identity.PolicyVersion
	err := s.view(ctx, func(q *txn) error {
		p, err := q.findPolicy(acct, policyARN)
		if err != nil {
			return err
		}
		if p.Builtin {
			doc, _ := identity.BuiltinDocument(p.ARN)
			out = []*identity.PolicyVersion{{PolicyARN: p.ARN, VersionID: "v1", Document: doc, IsDefault: true, CreatedAt: p.CreatedAt}}
			return nil
		}
		rows, err := q.rows(`SELECT version, document, created_at FROM iam_policy_versions WHERE policy_arn = ? ORDER BY version DESC`, p.ARN)
		if err != nil {
			return fmt.Errorf("list policy versions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			v := &identity.PolicyVersion{PolicyARN: p.ARN}
			var n int
			if err := rows.Scan(&n, &v.Document, timeCol{t: &v.CreatedAt}); err != nil {
				return fmt.Errorf("list policy versions: %w", err)
			}
			v.VersionID = "v" + strconv.Itoa(n)
			v.IsDefault = v.VersionID == p.DefaultVersionID
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// DeletePolicyVersion implements identity.Service.
func (s *Store) DeletePolicyVersion(ctx context.Context, acct, policyARN, versionID string) error {
	return s.onVersion(ctx, acct, policyARN, versionID, func(q *txn, p *identity.Policy, n int) error {
		if p.DefaultVersionID == versionID {
			return identity.Errorf(identity.DeleteConflict, "cannot delete the default version %s of policy %s", versionID, p.Name)
		}
		c, err := q.exec(`DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version = ?`, p.ARN, n)
		if err != nil {
			return fmt.Errorf("delete policy version: %w", err)
		}
		if c == 0 {
			return identity.Errorf(identity.NoSuchEntity, "policy %s has no version %s", p.Name, versionID)
		}
		return nil
	})
}

// SetDefaultPolicyVersion implements identity.Service.
func (s *Store) SetDefaultPolicyVersion(ctx context.Context, acct, policyARN, versionID string) error {
	return s.onVersion(ctx, acct, policyARN, versionID, func(q *txn, p *identity.Policy, n int) error {
		c, err := q.count(`SELECT COUNT(*) FROM iam_policy_versions WHERE policy_arn = ? AND version = ?`, p.ARN, n)
		if err != nil {
			return fmt.Errorf("set default policy version: %w", err)
		}
		if c == 0 {
			return identity.Errorf(identity.NoSuchEntity, "policy %s has no version %s", p.Name, versionID)
		}
		if _, err := q.exec(`UPDATE iam_policies SET default_version = ?, updated_at = ? WHERE account_id = ? AND arn = ?`, n, q.time(s.Now()), acct, p.ARN); err != nil {
			return fmt.Errorf("set default policy version: %w", err)
		}
		return nil
	})
}

// onVersion runs fn in a write transaction on the customer-managed policy
// policyARN of acct and the number of versionID ("v<N>").
func (s *Store) onVersion(ctx context.Context, acct, policyARN, versionID string, fn func(q *txn, p *identity.Policy, n int) error) error {
	if err := validAccount(acct); err != nil {
		return err
	}
	n, err := parseVersion(versionID)
	if err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		p, err := q.ownPolicy(acct, policyARN)
		if err != nil {
			return err
		}
		return fn(q, p, n)
	})
}
