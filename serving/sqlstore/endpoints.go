package sqlstore

import (
	"context"
	"fmt"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqltx"
)

func endpoints() spec[*serving.Endpoint] {
	return spec[*serving.Endpoint]{
		kind: serving.KindEndpoint,
		cols: `config_name, status, failure_reason, last_modified_at, version`,
		scan: func(sc sqltx.Row, h *head) (*serving.Endpoint, error) {
			e := &serving.Endpoint{}
			if err := sc.Scan(h.dest(&e.EndpointConfigName, &e.Status, &e.FailureReason, sqltx.TimeCol{T: &e.LastModifiedAt}, &e.Version)...); err != nil {
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
	if err := checkNew(serving.KindEndpoint, e.AccountID, e.Name, e.ARN, e.Tenant, e.Tags); err != nil {
		return err
	}
	if err := checkEndpoint(e); err != nil {
		return err
	}
	now := s.now()
	err := s.do(ctx, func(q *txn) error {
		_, err := q.Exec(`INSERT INTO serving_endpoints (account_id, name_lc, name, arn, tenant_id, created_at, config_name, status, failure_reason, last_modified_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			e.AccountID, lower(e.Name), e.Name, e.ARN, e.Tenant, q.time(now), e.EndpointConfigName, string(e.Status), e.FailureReason, q.time(now))
		if err := q.inserted(serving.KindEndpoint, e.Name, err); err != nil {
			return err
		}
		return q.insertTags(e.AccountID, e.ARN, e.Tenant, e.Tags)
	})
	if err != nil {
		return err
	}
	e.CreatedAt, e.LastModifiedAt, e.Version = now, now, 1
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
// status and failure reason if e.Version is the stored version, and sets
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
		n, err := q.Exec(`UPDATE serving_endpoints SET config_name = ?, status = ?, failure_reason = ?, last_modified_at = ?, version = version + 1
			WHERE account_id = ? AND name_lc = ? AND version = ?`,
			e.EndpointConfigName, string(e.Status), e.FailureReason, q.time(now), e.AccountID, lower(e.Name), e.Version)
		if err != nil {
			return fmt.Errorf("update endpoint: %w", err)
		}
		if n == 1 {
			return nil
		}
		found, err := q.Count(`SELECT COUNT(*) FROM serving_endpoints WHERE account_id = ? AND name_lc = ?`, e.AccountID, lower(e.Name))
		if err != nil {
			return fmt.Errorf("update endpoint: %w", err)
		}
		if found == 0 {
			return notFound(serving.KindEndpoint, e.Name)
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
