package sqlstore

import (
	"context"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqltx"
)

// containerJSON is the stored form of a serving.Container.
type containerJSON struct {
	Image        string            `json:"image"`
	Mode         string            `json:"mode,omitempty"`
	ModelDataURL string            `json:"modelDataUrl,omitempty"`
	Environment  map[string]string `json:"environment,omitempty"`
}

func models() spec[*serving.Model] {
	return spec[*serving.Model]{
		kind: serving.KindModel,
		cols: `primary_container, execution_role_arn`,
		scan: func(sc sqltx.Row, h *head) (*serving.Model, error) {
			m := &serving.Model{}
			var c containerJSON
			if err := sc.Scan(h.dest(sqltx.JSONCol{Dst: &c}, &m.ExecutionRoleARN)...); err != nil {
				return nil, err
			}
			m.AccountID, m.Name, m.ARN, m.Tenant, m.CreatedAt = h.acct, h.name, h.arn, h.tenant, h.created
			m.PrimaryContainer = serving.Container(c)
			return m, nil
		},
		setTags: func(m *serving.Model, tags map[string]string) { m.Tags = tags },
	}
}

// CreateModel implements serving.Store. It sets m.CreatedAt.
func (s *Store) CreateModel(ctx context.Context, m *serving.Model) error {
	if m == nil {
		return tenantml.Errorf(tenantml.EINVALID, "model is required")
	}
	if err := checkNew(serving.KindModel, m.AccountID, m.Name, m.ARN, m.Tenant, m.Tags); err != nil {
		return err
	}
	now := s.now()
	err := s.do(ctx, func(q *txn) error {
		_, err := q.Exec(`INSERT INTO serving_models (account_id, name_lc, name, arn, tenant_id, created_at, primary_container, execution_role_arn)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			m.AccountID, lower(m.Name), m.Name, m.ARN, m.Tenant, q.time(now), sqltx.JSON(containerJSON(m.PrimaryContainer)), m.ExecutionRoleARN)
		if err := q.inserted(serving.KindModel, m.Name, err); err != nil {
			return err
		}
		return q.insertTags(m.AccountID, m.ARN, m.Tenant, m.Tags)
	})
	if err != nil {
		return err
	}
	m.CreatedAt = now
	return nil
}

// GetModel implements serving.Store.
func (s *Store) GetModel(ctx context.Context, acct, name string) (*serving.Model, error) {
	return find(ctx, s, models(), acct, name)
}

// ListModels implements serving.Store.
func (s *Store) ListModels(ctx context.Context, acct string, f serving.ListFilter) ([]*serving.Model, string, error) {
	return listPage(ctx, s, models(), acct, f)
}

// DeleteModel implements serving.Store.
func (s *Store) DeleteModel(ctx context.Context, acct, name string) error {
	return s.remove(ctx, serving.KindModel, acct, name)
}
