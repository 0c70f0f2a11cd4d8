package sqlstore

import (
	"context"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqltx"
)

// variantJSON is the stored form of a serving.ProductionVariant.
type variantJSON struct {
	VariantName          string  `json:"variantName"`
	ModelName            string  `json:"modelName"`
	InitialInstanceCount int     `json:"initialInstanceCount"`
	InstanceType         string  `json:"instanceType,omitempty"`
	InitialVariantWeight float64 `json:"initialVariantWeight"`
}

func endpointConfigs() spec[*serving.EndpointConfig] {
	return spec[*serving.EndpointConfig]{
		kind: serving.KindEndpointConfig,
		cols: `production_variants, kms_key_id`,
		scan: func(sc sqltx.Row, h *head) (*serving.EndpointConfig, error) {
			c := &serving.EndpointConfig{}
			var vs []variantJSON
			if err := sc.Scan(h.dest(sqltx.JSONCol{Dst: &vs}, &c.KMSKeyID)...); err != nil {
				return nil, err
			}
			c.AccountID, c.Name, c.ARN, c.Tenant, c.CreatedAt = h.acct, h.name, h.arn, h.tenant, h.created
			for _, v := range vs {
				c.ProductionVariants = append(c.ProductionVariants, serving.ProductionVariant(v))
			}
			return c, nil
		},
		setTags: func(c *serving.EndpointConfig, tags map[string]string) { c.Tags = tags },
	}
}

// CreateEndpointConfig implements serving.Store. It sets c.CreatedAt.
func (s *Store) CreateEndpointConfig(ctx context.Context, c *serving.EndpointConfig) error {
	if c == nil {
		return tenantml.Errorf(tenantml.EINVALID, "endpoint config is required")
	}
	vs := make([]variantJSON, len(c.ProductionVariants))
	for i, v := range c.ProductionVariants {
		vs[i] = variantJSON(v)
	}
	h := head{c.AccountID, c.Name, c.ARN, c.Tenant, s.now()}
	if err := create(ctx, s, endpointConfigs(), h, c.Tags, sqltx.JSON(vs), c.KMSKeyID); err != nil {
		return err
	}
	c.CreatedAt = h.created
	return nil
}

// GetEndpointConfig implements serving.Store.
func (s *Store) GetEndpointConfig(ctx context.Context, acct, name string) (*serving.EndpointConfig, error) {
	return find(ctx, s, endpointConfigs(), acct, name)
}

// ListEndpointConfigs implements serving.Store.
func (s *Store) ListEndpointConfigs(ctx context.Context, acct string, f serving.ListFilter) ([]*serving.EndpointConfig, string, error) {
	return listPage(ctx, s, endpointConfigs(), acct, f)
}

// DeleteEndpointConfig implements serving.Store.
func (s *Store) DeleteEndpointConfig(ctx context.Context, acct, name string) error {
	return s.remove(ctx, serving.KindEndpointConfig, acct, name)
}
