package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/tenant"
)

// SetTags implements serving.Store.
func (s *Store) SetTags(ctx context.Context, acct, resARN string, tags map[string]string) error {
	if err := tenant.ValidateTags(tags); err != nil {
		return err
	}
	return s.retag(ctx, acct, resARN, tags, nil)
}

// RemoveTags implements serving.Store.
func (s *Store) RemoveTags(ctx context.Context, acct, resARN string, keys []string) error {
	for _, k := range keys {
		if k == "" || len(k) > tenant.MaxTagKeyLength {
			return tenantml.Errorf(tenantml.EINVALID, "tag key %q must be 1 to %d characters", truncate(k), tenant.MaxTagKeyLength)
		}
	}
	return s.retag(ctx, acct, resARN, nil, keys)
}

func (s *Store) retag(ctx context.Context, acct, resARN string, set map[string]string, remove []string) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	table, a, err := resolveARN(acct, resARN)
	if err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		var owner string
		err := q.Row(`SELECT tenant_id FROM `+table+` WHERE account_id = ? AND arn = ?`, acct, a).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			return tenantml.Errorf(tenantml.ENOTFOUND, "Could not find resource %q.", truncate(resARN))
		}
		if err != nil {
			return fmt.Errorf("find tagged resource: %w", err)
		}
		current, err := q.tagsOf(acct, []string{a})
		if err != nil {
			return err
		}
		tags, err := mergeTags(current[a], set, remove)
		if err != nil {
			return err
		}
		n, err := q.Exec(`DELETE FROM serving_tags WHERE account_id = ? AND arn = ?`, acct, a)
		if err != nil {
			return fmt.Errorf("tag resource: %w", err)
		}
		if n != int64(len(current[a])) { // tags it reads but may not write
			return readOnly("resource " + truncate(resARN))
		}
		return q.insertTags(acct, a, owner, tags)
	})
}

// resolveARN returns the table and the stored form of a resource ARN
// (its name lower-cased): EINVALID when s is no SageMaker resource ARN,
// ENOTFOUND when it names another account or a kind this store does not
// keep.
func resolveARN(acct, s string) (table, canonical string, err error) {
	k, name, err := serving.ParseARN(s)
	if err != nil {
		return "", "", tenantml.Errorf(tenantml.EINVALID, "%s", err.Error())
	}
	a, _ := arn.Parse(s) // ParseARN parsed it
	table = tableOf(k)
	if table == "" || a.AccountID != acct {
		return "", "", tenantml.Errorf(tenantml.ENOTFOUND, "Could not find resource %q.", truncate(s))
	}
	a.Resource = string(k) + "/" + lower(name)
	return table, a.String(), nil
}

// tenantTag returns the value of the TenantID tag (its key matched
// case-insensitively) and whether there is one.
func tenantTag(tags map[string]string) (string, bool) {
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) {
			return v, true
		}
	}
	return "", false
}

// mergeTags returns current with set applied (keys matched
// case-insensitively, the new spelling winning) and remove deleted. It
// refuses to add, change or remove the TenantID tag: a resource's tenant
// is fixed at creation.
func mergeTags(current, set map[string]string, remove []string) (map[string]string, error) {
	cur, had := tenantTag(current)
	fixed := tenantml.Errorf(tenantml.EINVALID, "the %s tag is fixed when the resource is created", tenant.TagKey)
	if v, ok := tenantTag(set); ok && (!had || v != cur) {
		return nil, fixed
	}
	out := make(map[string]string, len(current)+len(set))
	for k, v := range current {
		out[k] = v
	}
	drop := func(key string) {
		for old := range out {
			if strings.EqualFold(old, key) {
				delete(out, old)
			}
		}
	}
	for k, v := range set {
		drop(k)
		out[k] = v
	}
	for _, k := range remove {
		if had && strings.EqualFold(k, tenant.TagKey) {
			return nil, fixed
		}
		drop(k)
	}
	if len(out) > tenant.MaxTags {
		return nil, tenantml.Errorf(tenantml.EINVALID, "%d tags exceed the limit of %d", len(out), tenant.MaxTags)
	}
	return out, nil
}

// insertTags stores the tags of the resource resARN, owned by owner.
func (q *txn) insertTags(acct, resARN, owner string, tags map[string]string) error {
	for k, v := range tags {
		if _, err := q.Exec(`INSERT INTO serving_tags (account_id, arn, tag_key, tag_value, tenant_id) VALUES (?, ?, ?, ?, ?)`, acct, resARN, k, v, owner); err != nil {
			return fmt.Errorf("insert tag: %w", err)
		}
	}
	return nil
}

// tagsOf returns the tags of the resources arns, by ARN; a resource
// without tags has none in the map.
func (q *txn) tagsOf(acct string, arns []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	if len(arns) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(arns)+1)
	args = append(args, acct)
	for _, a := range arns {
		args = append(args, a)
	}
	rows, err := q.Rows(`SELECT arn, tag_key, tag_value FROM serving_tags WHERE account_id = ? AND arn IN (?`+strings.Repeat(", ?", len(arns)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, k, v string
		if err := rows.Scan(&a, &k, &v); err != nil {
			return nil, fmt.Errorf("read tags: %w", err)
		}
		if out[a] == nil {
			out[a] = map[string]string{}
		}
		out[a][k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	return out, nil
}
