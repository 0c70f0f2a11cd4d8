package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/tenant"
)

// Page sizes, as SageMaker's MaxResults.
const (
	defaultLimit   = 10
	maxLimit       = 100
	maxTokenLength = 512
)

// The listings a token may belong to.
const (
	kindGroups   = "g"
	kindPackages = "p"
)

// cursor is the content of a page token: the listing it belongs to and
// the key of the previous page's last row.
type cursor struct {
	Kind    string `json:"k"`
	ByTime  bool   `json:"t,omitempty"`
	Desc    bool   `json:"d,omitempty"`
	Name    string `json:"n"`
	Version int    `json:"v,omitempty"`
	Created int64  `json:"c,omitempty"` // Unix milliseconds
}

func (c cursor) token() string {
	b, _ := json.Marshal(c) // strings, bools and integers: never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func errBadToken() error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "the pagination token is not one this listing returned")
}

// parseToken decodes a token of the listing want describes.
func parseToken(s string, want cursor) (cursor, error) {
	var c cursor
	if len(s) > maxTokenLength {
		return c, errBadToken()
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, errBadToken()
	}
	if c.Kind != want.Kind || c.ByTime != want.ByTime || c.Desc != want.Desc || c.Name == "" || c.Version < 0 ||
		(want.Kind == kindPackages) != (c.Version > 0) || registry.ValidateGroupName(c.Name) != nil {
		return c, errBadToken()
	}
	return c, nil
}

// checkList validates the common filter and returns the page size.
func checkList(acct string, f registry.ListFilter) (int, error) {
	if err := checkAccount(acct); err != nil {
		return 0, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = defaultLimit
	case limit < 1 || limit > maxLimit:
		return 0, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "MaxResults must be between 1 and %d", maxLimit)
	}
	if f.Tenant != "" {
		if err := tenant.ValidateID(f.Tenant); err != nil {
			return 0, err
		}
	}
	if len(f.NameContains) > 63 || strings.Trim(lower(f.NameContains), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return 0, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "NameContains %q must be 1 to 63 letters, digits and hyphens", truncate(f.NameContains))
	}
	return limit, nil
}

// listQuery accumulates a listing's WHERE clause.
type listQuery struct {
	s     *Store
	conds []string
	args  []any
}

func (s *Store) newListQuery(acct string, f registry.ListFilter) *listQuery {
	lq := &listQuery{s: s}
	lq.where("account_id = ?", acct)
	if f.Tenant != "" {
		lq.where("tenant_id = ?", f.Tenant)
	}
	if !f.CreatedAfter.IsZero() {
		lq.where("created_at > ?", s.timeArg(f.CreatedAfter.Truncate(time.Millisecond)))
	}
	if !f.CreatedBefore.IsZero() {
		b := f.CreatedBefore.Truncate(time.Millisecond)
		if b.Before(f.CreatedBefore) {
			b = b.Add(time.Millisecond)
		}
		lq.where("created_at < ?", s.timeArg(b))
	}
	return lq
}

func (lq *listQuery) where(cond string, args ...any) {
	lq.conds = append(lq.conds, cond)
	lq.args = append(lq.args, args...)
}

func (lq *listQuery) cond() string { return strings.Join(lq.conds, " AND ") }

// order is the ORDER BY of keys (created_at first when sorting by time).
func (lq *listQuery) order(keys []string, f registry.ListFilter) string {
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	if f.SortByCreationTime {
		keys = append([]string{"created_at"}, keys...)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + dir
	}
	return strings.Join(out, ", ")
}

// page adds the keyset condition of the token in f.After: rows strictly
// after the previous page's last key in the listing's order.
func (lq *listQuery) page(kind string, keys []string, f registry.ListFilter) error {
	if f.After == "" {
		return nil
	}
	c, err := parseToken(f.After, cursor{Kind: kind, ByTime: f.SortByCreationTime, Desc: f.Descending})
	if err != nil {
		return err
	}
	vals := []any{c.Name}
	if kind == kindPackages {
		vals = append(vals, c.Version)
	}
	if f.SortByCreationTime {
		keys = append([]string{"created_at"}, keys...)
		vals = append([]any{lq.s.timeArg(time.UnixMilli(c.Created))}, vals...)
	}
	op := ">"
	if f.Descending {
		op = "<"
	}
	// (k1 op v1) OR (k1 = v1 AND ((k2 op v2) OR (k2 = v2 AND ...)))
	var build func(i int) (string, []any)
	build = func(i int) (string, []any) {
		if i == len(keys)-1 {
			return keys[i] + " " + op + " ?", []any{vals[i]}
		}
		rest, args := build(i + 1)
		return "(" + keys[i] + " " + op + " ? OR (" + keys[i] + " = ? AND (" + rest + ")))", append([]any{vals[i], vals[i]}, args...)
	}
	cond, args := build(0)
	lq.where("("+cond+")", args...)
	return nil
}
