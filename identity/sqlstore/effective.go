package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/tenantml/tenantml/identity"
)

// effectiveUserSQL returns, in one query, a user's inline policies, its
// groups' inline policies and every managed policy attached to the user or
// its groups with the default version's document (NULL for built-in
// policies, whose documents are embedded). Arguments: acct, user_lc four
// times interleaved as below.
const effectiveUserSQL = `
SELECT 0 AS rank, '' AS via, ip.name AS name, '' AS arn, 0 AS version, ip.document AS document
  FROM iam_inline_policies ip
 WHERE ip.account_id = ? AND ip.kind = 'user' AND ip.principal_lc = ?
UNION ALL
SELECT 2, g.name, ip.name, '', 0, ip.document
  FROM iam_group_members m
  JOIN iam_groups g ON g.account_id = m.account_id AND g.name_lc = m.group_lc
  JOIN iam_inline_policies ip ON ip.account_id = m.account_id AND ip.kind = 'group' AND ip.principal_lc = m.group_lc
 WHERE m.account_id = ? AND m.user_lc = ?
UNION ALL
SELECT CASE WHEN a.kind = 'user' THEN 1 ELSE 3 END, COALESCE(g.name, ''), '', a.policy_arn, COALESCE(p.default_version, 0), v.document
  FROM iam_attachments a
  LEFT JOIN iam_groups g ON a.kind = 'group' AND g.account_id = a.account_id AND g.name_lc = a.principal_lc
  LEFT JOIN iam_policies p ON p.account_id = a.account_id AND p.arn = a.policy_arn
  LEFT JOIN iam_policy_versions v ON v.policy_arn = p.arn AND v.version = p.default_version
 WHERE a.account_id = ? AND ((a.kind = 'user' AND a.principal_lc = ?)
    OR (a.kind = 'group' AND a.principal_lc IN (SELECT group_lc FROM iam_group_members WHERE account_id = ? AND user_lc = ?)))
UNION ALL
SELECT 4, '', '', p.arn, p.default_version, v.document
  FROM iam_policies p
  JOIN iam_policy_versions v ON v.policy_arn = p.arn AND v.version = p.default_version
 WHERE p.account_id = ? AND p.arn = ?`

// effectiveRoleSQL is effectiveUserSQL for a role (no groups).
const effectiveRoleSQL = `
SELECT 0 AS rank, '' AS via, ip.name AS name, '' AS arn, 0 AS version, ip.document AS document
  FROM iam_inline_policies ip
 WHERE ip.account_id = ? AND ip.kind = 'role' AND ip.principal_lc = ?
UNION ALL
SELECT 1, '', '', a.policy_arn, COALESCE(p.default_version, 0), v.document
  FROM iam_attachments a
  LEFT JOIN iam_policies p ON p.account_id = a.account_id AND p.arn = a.policy_arn
  LEFT JOIN iam_policy_versions v ON v.policy_arn = p.arn AND v.version = p.default_version
 WHERE a.account_id = ? AND a.kind = 'role' AND a.principal_lc = ?
UNION ALL
SELECT 4, '', '', p.arn, p.default_version, v.document
  FROM iam_policies p
  JOIN iam_policy_versions v ON v.policy_arn = p.arn AND v.version = p.default_version
 WHERE p.account_id = ? AND p.arn = ?`

// PoliciesForUser implements identity.Service with two queries: the user,
// then every document in one UNION.
func (s *Store) PoliciesForUser(ctx context.Context, acct, name string) (*identity.Effective, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var e *identity.Effective
	err := s.view(ctx, func(q *txn) error {
		u, err := q.findUser(acct, name)
		if err != nil {
			return err
		}
		e = &identity.Effective{AccountID: acct, ARN: u.ARN, ID: u.ID, TenantID: u.TenantID, Tags: u.Tags}
		lc := lower(u.Name)
		return q.collect(e, u.PermissionsBoundary, effectiveUserSQL, acct, lc, acct, lc, acct, lc, acct, lc, acct, u.PermissionsBoundary)
	})
	return e, err
}

// PoliciesForRole implements identity.Service with two queries.
func (s *Store) PoliciesForRole(ctx context.Context, acct, name string) (*identity.Effective, error) {
	if err := validAccount(acct); err != nil {
		return nil, err
	}
	var e *identity.Effective
	err := s.view(ctx, func(q *txn) error {
		r, err := q.findRole(acct, name)
		if err != nil {
			return err
		}
		e = &identity.Effective{AccountID: acct, ARN: r.ARN, ID: r.ID, TenantID: r.TenantID, Tags: r.Tags, SessionsRevokedBefore: r.SessionsRevokedBefore}
		lc := lower(r.Name)
		return q.collect(e, r.PermissionsBoundary, effectiveRoleSQL, acct, lc, acct, lc, acct, r.PermissionsBoundary)
	})
	return e, err
}

type effRow struct {
	rank    int
	via     string
	doc     identity.Document
	version int
	hasDoc  bool
}

// collect runs an effective-policy query and fills e: documents ordered
// inline, attached, group inline, group attached; each managed policy
// once; built-in documents from the embedded set. A managed policy whose
// document is missing fails the call (fail closed: it might have held a
// Deny).
func (q *txn) collect(e *identity.Effective, boundary, query string, args ...any) error {
	rows, err := q.rows(query, args...)
	if err != nil {
		return fmt.Errorf("effective policies: %w", err)
	}
	defer rows.Close()
	var all []effRow
	for rows.Next() {
		var r effRow
		var doc *string
		if err := rows.Scan(&r.rank, &r.via, &r.doc.Name, &r.doc.ARN, &r.version, &doc); err != nil {
			return fmt.Errorf("effective policies: %w", err)
		}
		if doc != nil {
			r.doc.Document, r.hasDoc = *doc, true
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("effective policies: %w", err)
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if a.via != b.via {
			return a.via < b.via
		}
		return a.doc.Name+a.doc.ARN < b.doc.Name+b.doc.ARN
	})
	seen := map[string]bool{}
	for _, r := range all {
		d := r.doc
		if d.ARN != "" {
			if err := resolveManaged(&d, r); err != nil {
				return err
			}
		}
		switch r.rank {
		case 0:
			d.Source = string(identity.KindUser)
			if query == effectiveRoleSQL {
				d.Source = string(identity.KindRole)
			}
		case 1:
			d.Source = "managed"
		case 2:
			d.Source = "group/" + r.via
		case 3:
			d.Source = "managed via group/" + r.via
		case 4:
			continue
		}
		if d.ARN != "" {
			if seen[d.ARN] {
				continue
			}
			seen[d.ARN] = true
		}
		e.Policies = append(e.Policies, d)
	}
	if boundary != "" {
		d := identity.Document{Source: "boundary", ARN: boundary}
		r := effRow{rank: 4}
		for _, x := range all {
			if x.rank == 4 {
				r = x
			}
		}
		if err := resolveManaged(&d, r); err != nil {
			return err
		}
		e.Boundary = &d
	}
	return nil
}

// resolveManaged fills a managed document's name, version and text.
func resolveManaged(d *identity.Document, r effRow) error {
	_, _, name, err := identity.ParsePolicyARN(d.ARN)
	if err != nil {
		return fmt.Errorf("effective policies: stored %w", err)
	}
	d.Name = name
	if identity.IsBuiltinARN(d.ARN) {
		doc, ok := identity.BuiltinDocument(d.ARN)
		if !ok {
			return fmt.Errorf("effective policies: unknown built-in policy %s", d.ARN)
		}
		d.Document, d.VersionID = doc, "v1"
		return nil
	}
	if !r.hasDoc || r.version == 0 {
		return fmt.Errorf("effective policies: managed policy %s has no default version", d.ARN)
	}
	d.Document, d.VersionID = r.doc.Document, "v"+strconv.Itoa(r.version)
	return nil
}
