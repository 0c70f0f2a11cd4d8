package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqltx"
)

func endpoints() spec[*serving.Endpoint] {
	return spec[*serving.Endpoint]{
		kind: serving.KindEndpoint,
		cols: `config_name, status, failure_reason, last_modified_at, version, source_vpce, source_vpc`,
		scan: func(sc sqltx.Row, h *head) (*serving.Endpoint, error) {
			e := &serving.Endpoint{}
			if err := sc.Scan(h.dest(&e.EndpointConfigName, &e.Status, &e.FailureReason, sqltx.TimeCol{T: &e.LastModifiedAt}, &e.Version,
				&e.SourceVPCE, &e.SourceVPC)...); err != nil {
				return nil, err
			}
			e.AccountID, e.Name, e.ARN, e.Tenant, e.CreatedAt = h.acct, h.name, h.arn, h.tenant, h.created
			return e, nil
		},
		setTags: func(e *serving.Endpoint, tags map[string]string) { e.Tags = tags },
	}
}

// checkEndpoint validates what an endpoint's create and update write.
func checkEndpoint(e *serving.Endpoint) error {
	switch e.Status {
	case serving.StatusCreating, serving.StatusUpdating, serving.StatusInService, serving.StatusDeleting, serving.StatusFailed:
	default:
		return tenantml.Errorf(tenantml.EINVALID, "endpoint status %q is not one of Creating, Updating, InService, Deleting, Failed", truncate(string(e.Status)))
	}
	return serving.ValidateName("EndpointConfigName", e.EndpointConfigName)
}

// CreateEndpoint implements serving.Store. It sets e.CreatedAt and
// e.LastModifiedAt to now and e.Version to 1.
func (s *Store) CreateEndpoint(ctx context.Context, e *serving.Endpoint) error {
	if e == nil {
		return tenantml.Errorf(tenantml.EINVALID, "endpoint is required")
	}
	if err := checkEndpoint(e); err != nil {
		return err
	}
	h := head{e.AccountID, e.Name, e.ARN, e.Tenant, s.now()}
	err := create(ctx, s, endpoints(), h, e.Tags, e.EndpointConfigName, string(e.Status), e.FailureReason, s.timeArg(h.created), int64(1),
		e.SourceVPCE, e.SourceVPC)
	if err != nil {
		return err
	}
	e.CreatedAt, e.LastModifiedAt, e.Version = h.created, h.created, 1
	return nil
}

// GetEndpoint implements serving.Store.
func (s *Store) GetEndpoint(ctx context.Context, acct, name string) (*serving.Endpoint, error) {
	return find(ctx, s, endpoints(), acct, name)
}

// ListEndpoints implements serving.Store.
func (s *Store) ListEndpoints(ctx context.Context, acct string, f serving.ListFilter) ([]*serving.Endpoint, string, error) {
	return listPage(ctx, s, endpoints(), acct, f)
}

// UpdateEndpoint implements serving.Store: it writes e's config name,
// status, failure reason and network path if e.Version is the stored version, and sets
// e.Version and e.LastModifiedAt to the new ones.
func (s *Store) UpdateEndpoint(ctx context.Context, e *serving.Endpoint) error {
	if e == nil {
		return tenantml.Errorf(tenantml.EINVALID, "endpoint is required")
	}
	if err := checkAccount(e.AccountID); err != nil {
		return err
	}
	if err := checkEndpoint(e); err != nil {
		return err
	}
	now := s.now()
	err := s.do(ctx, func(q *txn) error {
		n, err := q.Exec(`UPDATE serving_endpoints SET config_name = ?, status = ?, failure_reason = ?, last_modified_at = ?, source_vpce = ?, source_vpc = ?,
			version = version + 1 WHERE account_id = ? AND name_lc = ? AND version = ?`,
			e.EndpointConfigName, string(e.Status), e.FailureReason, s.timeArg(now), e.SourceVPCE, e.SourceVPC, e.AccountID, lower(e.Name), e.Version)
		if err != nil {
			return fmt.Errorf("update endpoint: %w", err)
		}
		if n == 1 {
			return nil
		}
		var cur int64
		err = q.Row(`SELECT version FROM serving_endpoints WHERE account_id = ? AND name_lc = ?`, e.AccountID, lower(e.Name)).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound(serving.KindEndpoint, e.Name)
		case err != nil:
			return fmt.Errorf("update endpoint: %w", err)
		case cur == e.Version: // visible at that version, yet not updated
			return readOnly("endpoint " + e.Name)
		}
		return tenantml.Errorf(tenantml.ECONFLICT, "endpoint %q changed concurrently: version %d is not the stored one", e.Name, e.Version)
	})
	if err != nil {
		return err
	}
	e.Version++
	e.LastModifiedAt = now
	return nil
}

// DeleteEndpoint implements serving.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, acct, name string) error {
	return s.remove(ctx, serving.KindEndpoint, acct, name)
}
