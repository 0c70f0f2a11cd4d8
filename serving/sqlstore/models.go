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
	// The model package the container came from and the digest it pins.
	ModelPackageName string `json:"modelPackageName,omitempty"`
	ModelDataSHA256  string `json:"modelDataSha256,omitempty"`
	ModelDataSize    int64  `json:"modelDataSize,omitempty"`
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
	h := head{m.AccountID, m.Name, m.ARN, m.Tenant, s.now()}
	if err := create(ctx, s, models(), h, m.Tags, sqltx.JSON(containerJSON(m.PrimaryContainer)), m.ExecutionRoleARN); err != nil {
		return err
	}
	m.CreatedAt = h.created
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
