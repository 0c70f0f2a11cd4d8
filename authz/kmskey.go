package authz

import (
	"context"
	"fmt"

	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/tenant"
)

// Parser parses policy documents; *Engine implements it (and caches them).
type Parser interface {
	Parse(doc string, kind iam.Kind) (*iam.Policy, error)
}

// KeyResource is tenant's KMS key keyID (a key ID, key ARN, alias name or
// alias ARN of tenant) as kms: actions on it are decided: its ARN, its
// tenant, its tags with the tenant's TenantID tag, and its key policy (a
// resource-based policy that must allow, as on AWS). Every surface that
// uses a key on a caller's behalf (KMS, the object store's SSE-KMS, model
// reads by an execution role) decides on this one resource. A key tenant
// does not have is the keys service's NotFoundException.
func KeyResource(ctx context.Context, ks *keys.Service, policies Parser, tenantID, keyID string) (Resource, error) {
	m, err := ks.DescribeKey(ctx, tenantID, keyID)
	if err != nil {
		return Resource{}, err
	}
	doc, err := ks.GetKeyPolicy(ctx, tenantID, m.Arn, "default")
	if err != nil {
		return Resource{}, fmt.Errorf("key policy of %s: %w", m.Arn, err)
	}
	pol, err := policies.Parse(doc, iam.KindResource)
	if err != nil {
		return Resource{}, fmt.Errorf("key policy of %s: %w", m.Arn, err)
	}
	list, err := ks.ListResourceTags(ctx, tenantID, m.Arn)
	if err != nil {
		return Resource{}, fmt.Errorf("tags of %s: %w", m.Arn, err)
	}
	tags := make(map[string]string, len(list)+1)
	for _, t := range list {
		tags[t.Key] = t.Value
	}
	tags[tenant.TagKey] = tenantID
	return Resource{ARN: m.Arn, Tenant: tenantID, Tags: tags, Policy: pol}, nil
}
