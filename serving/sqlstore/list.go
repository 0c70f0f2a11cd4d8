package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/tenant"
)

// Page sizes, as SageMaker's MaxResults.
const (
	defaultLimit = 10
	maxLimit     = 100
	// maxTokenLength bounds the token a caller may send back.
	maxTokenLength = 512
)

// cursor is the content of a page token: the listing it belongs to and
// the key of the previous page's last row.
type cursor struct {
	Kind    serving.ResourceKind `json:"k"`
	ByTime  bool                 `json:"t,omitempty"`
	Desc    bool                 `json:"d,omitempty"`
	Name    string               `json:"n"`
	Created int64                `json:"c,omitempty"` // Unix milliseconds
}

func (c cursor) token() string {
	b, _ := json.Marshal(c) // strings, bools and an integer: never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseToken decodes a token of the listing want describes.
func parseToken(s string, want cursor) (cursor, error) {
	var c cursor
	bad := tenantml.Errorf(tenantml.EINVALID, "the pagination token is not one this listing returned")
	if len(s) > maxTokenLength {
		return c, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, bad
	}
	if c.Kind != want.Kind || c.ByTime != want.ByTime || c.Desc != want.Desc || c.Name == "" {
		return c, bad
	}
	return c, nil
}

// listQuery builds the query of one page (limit+1 rows, to learn whether
// another page follows) for kind k.
func (s *Store) listQuery(k serving.ResourceKind, cols, acct string, f serving.ListFilter, limit int) (string, []any, error) {
	where := []string{"account_id = ?"}
	args := []any{acct}
	if f.Tenant != "" {
		where, args = append(where, "tenant_id = ?"), append(args, f.Tenant)
	}
	if f.NameContains != "" {
		// Validated to letters, digits and hyphens: nothing to escape.
		where, args = append(where, "name_lc LIKE ?"), append(args, "%"+lower(f.NameContains)+"%")
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if !f.CreatedAfter.IsZero() {
		where, args = append(where, "created_at > ?"), append(args, s.timeArg(f.CreatedAfter.Truncate(time.Millisecond)))
	}
	if !f.CreatedBefore.IsZero() {
		b := f.CreatedBefore.Truncate(time.Millisecond)
		if b.Before(f.CreatedBefore) {
			b = b.Add(time.Millisecond)
		}
		where, args = append(where, "created_at < ?"), append(args, s.timeArg(b))
	}
	op, dir := ">", "ASC"
	if f.Descending {
		op, dir = "<", "DESC"
	}
	order := "name_lc " + dir
	if f.SortByCreationTime {
		order = "created_at " + dir + ", name_lc " + dir
	}
	if f.After != "" {
		c, err := parseToken(f.After, cursor{Kind: k, ByTime: f.SortByCreationTime, Desc: f.Descending})
		if err != nil {
			return "", nil, err
		}
		if f.SortByCreationTime {
			at := s.timeArg(time.UnixMilli(c.Created))
			where = append(where, "(created_at "+op+" ? OR (created_at = ? AND name_lc "+op+" ?))")
			args = append(args, at, at, c.Name)
		} else {
			where, args = append(where, "name_lc "+op+" ?"), append(args, c.Name)
		}
	}
	return `SELECT ` + headCols + `, ` + cols + ` FROM ` + tableOf(k) + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ?`, append(args, limit+1), nil
}

// checkFilter validates f for a list of kind k and returns the page size.
func checkFilter(k serving.ResourceKind, acct string, f serving.ListFilter) (int, error) {
	if err := checkAccount(acct); err != nil {
		return 0, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = defaultLimit
	case limit < 1 || limit > maxLimit:
		return 0, tenantml.Errorf(tenantml.EINVALID, "MaxResults %d must be between 1 and %d", f.Limit, maxLimit)
	}
	if f.Tenant != "" {
		if err := tenant.ValidateID(f.Tenant); err != nil {
			return 0, err
		}
	}
	if len(f.NameContains) > 63 || strings.Trim(lower(f.NameContains), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return 0, tenantml.Errorf(tenantml.EINVALID, "NameContains %q must be 1 to 63 letters, digits and hyphens", truncate(f.NameContains))
	}
	switch f.Status {
	case "":
	case serving.StatusCreating, serving.StatusUpdating, serving.StatusInService, serving.StatusDeleting, serving.StatusFailed:
		if k != serving.KindEndpoint {
			return 0, tenantml.Errorf(tenantml.EINVALID, "StatusEquals applies to endpoints only")
		}
	default:
		return 0, tenantml.Errorf(tenantml.EINVALID, "StatusEquals %q is not an endpoint status", truncate(string(f.Status)))
	}
	return limit, nil
}

// listPage returns one page of kind k's resources (see list), in a
// read-only transaction.
func listPage[T any](ctx context.Context, s *Store, k spec[T], acct string, f serving.ListFilter) ([]T, string, error) {
	limit, err := checkFilter(k.kind, acct, f)
	if err != nil {
		return nil, "", err
	}
	query, args, err := s.listQuery(k.kind, k.cols, acct, f, limit)
	if err != nil {
		return nil, "", err
	}
	var (
		out  []T
		next string
	)
	err = s.view(ctx, func(q *txn) (err error) {
		out, next, err = list(q, k, acct, f, limit, query, args)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// list runs the query of one page of kind k's resources (listQuery's) and
// returns them with their tags, and the token of the next page ("" when
// none follows).
func list[T any](q *txn, k spec[T], acct string, f serving.ListFilter, limit int, query string, args []any) ([]T, string, error) {
	rows, err := q.Rows(query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", k.kind, err)
	}
	defer rows.Close()
	var (
		out   []T
		heads []head
	)
	for rows.Next() {
		var h head
		v, err := k.scan(rows, &h)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", k.kind, err)
		}
		out, heads = append(out, v), append(heads, h)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list %s: %w", k.kind, err)
	}
	rows.Close()
	next := ""
	if len(out) > limit {
		out, heads = out[:limit], heads[:limit]
		last := heads[limit-1]
		c := cursor{Kind: k.kind, ByTime: f.SortByCreationTime, Desc: f.Descending, Name: lower(last.name)}
		if c.ByTime {
			c.Created = last.created.UnixMilli()
		}
		next = c.token()
	}
	arns := make([]string, len(heads))
	for i, h := range heads {
		arns[i] = h.arn
	}
	tags, err := q.tagsOf(acct, arns)
	if err != nil {
		return nil, "", err
	}
	for i, v := range out {
		k.setTags(v, tags[heads[i].arn])
	}
	return out, next, nil
}
