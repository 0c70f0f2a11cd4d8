package serving

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/tenant"
)

// The control-plane resources, named and shaped as the managed cloud's
// SageMaker API names them: a Model (a container and its artifact), an
// EndpointConfig (production variants over models) and an Endpoint
// (a deployed endpoint config). Every resource belongs to one account and,
// unless it is a platform resource shared by several tenants (the pool
// endpoint), to one tenant.

// ResourceKind is the kind of a control-plane resource, the ARN's resource
// type.
type ResourceKind string

// The resource kinds.
const (
	KindModel          ResourceKind = "model"
	KindEndpointConfig ResourceKind = "endpoint-config"
	KindEndpoint       ResourceKind = "endpoint"
)

// Container is a model's container definition.
type Container struct {
	// Image selects the model server: the native runtime for
	// "tenantml/xgboost" and SageMaker's XGBoost image URIs, else an image
	// the operator registered.
	Image string
	// Mode is "SingleModel" (default; the one model of ModelDataURL) or
	// "MultiModel" (every model under the ModelDataURL prefix, chosen per
	// request by TargetModel).
	Mode string
	// ModelDataURL is s3://bucket/key (single model) or s3://bucket/prefix/
	// (multi-model).
	ModelDataURL string
	// Environment is passed to the model server.
	Environment map[string]string
	// ModelPackageName is the ARN of the model package the container was
	// created from ("" for none).
	ModelPackageName string
	// ModelDataSHA256 and ModelDataSize, when set, pin the object
	// ModelDataURL names: the hex SHA-256 and size of its plaintext as
	// the model package recorded them. The serving path refuses to load
	// an object that differs.
	ModelDataSHA256 string
	ModelDataSize   int64
}

// Model is a SageMaker model.
type Model struct {
	AccountID string
	Name      string
	ARN       string
	// Tenant owns the model; "" for a platform model.
	Tenant           string
	PrimaryContainer Container
	ExecutionRoleARN string
	Tags             map[string]string
	CreatedAt        time.Time
}

// ProductionVariant is one variant of an endpoint config.
type ProductionVariant struct {
	VariantName          string
	ModelName            string
	InitialInstanceCount int
	InstanceType         string
	// InitialVariantWeight routes traffic between variants; default 1.
	InitialVariantWeight float64
}

// EndpointConfig is a SageMaker endpoint config.
type EndpointConfig struct {
	AccountID          string
	Name               string
	ARN                string
	Tenant             string
	ProductionVariants []ProductionVariant
	KMSKeyID           string
	Tags               map[string]string
	CreatedAt          time.Time
}

// EndpointStatus is DescribeEndpoint's EndpointStatus.
type EndpointStatus string

// The endpoint statuses tenantml goes through.
const (
	StatusCreating  EndpointStatus = "Creating"
	StatusUpdating  EndpointStatus = "Updating"
	StatusInService EndpointStatus = "InService"
	StatusDeleting  EndpointStatus = "Deleting"
	StatusFailed    EndpointStatus = "Failed"
)

// Endpoint is a SageMaker endpoint.
type Endpoint struct {
	AccountID          string
	Name               string
	ARN                string
	Tenant             string
	EndpointConfigName string
	Status             EndpointStatus
	FailureReason      string
	// SourceVPCE and SourceVPC are the network path of the request that
	// created or last updated the endpoint (its listener's VPC endpoint
	// and VPC, "" for the default listener): its models are read from
	// there, at every deployment, resumed ones included.
	SourceVPCE, SourceVPC string
	Tags                  map[string]string
	CreatedAt             time.Time
	LastModifiedAt        time.Time
	// Version increments on every update; stores use it for optimistic
	// concurrency.
	Version int64
}

// Store persists the control-plane resources of every account. Every
// method takes the account; names are unique per account and kind
// case-insensitively (the ARN lower-cases the name, as SageMaker's does),
// and Get finds a name in any case. Missing resources are ENOTFOUND,
// existing ones ECONFLICT. Create sets CreatedAt (an endpoint's
// LastModifiedAt too, and its Version to 1) from the store's clock; times
// are UTC at millisecond precision. A resource's tenant, and so its
// TenantID tag, is fixed at creation. Delete removes the resource's tags
// too. store/storetest.RunServing is the contract.
type Store interface {
	CreateModel(ctx context.Context, m *Model) error
	GetModel(ctx context.Context, acct, name string) (*Model, error)
	ListModels(ctx context.Context, acct string, f ListFilter) ([]*Model, string, error)
	DeleteModel(ctx context.Context, acct, name string) error

	CreateEndpointConfig(ctx context.Context, c *EndpointConfig) error
	GetEndpointConfig(ctx context.Context, acct, name string) (*EndpointConfig, error)
	ListEndpointConfigs(ctx context.Context, acct string, f ListFilter) ([]*EndpointConfig, string, error)
	DeleteEndpointConfig(ctx context.Context, acct, name string) error

	CreateEndpoint(ctx context.Context, e *Endpoint) error
	GetEndpoint(ctx context.Context, acct, name string) (*Endpoint, error)
	ListEndpoints(ctx context.Context, acct string, f ListFilter) ([]*Endpoint, string, error)
	// UpdateEndpoint stores e's EndpointConfigName, Status and
	// FailureReason if its Version is the stored one, and bumps Version
	// and LastModifiedAt (in e too); ECONFLICT otherwise.
	UpdateEndpoint(ctx context.Context, e *Endpoint) error
	DeleteEndpoint(ctx context.Context, acct, name string) error

	// SetTags adds or replaces tags (keys matched case-insensitively) of
	// the resource arn; ENOTFOUND if none, EINVALID if it would add or
	// change the TenantID tag.
	SetTags(ctx context.Context, acct, arn string, tags map[string]string) error
	// RemoveTags removes tags by key; EINVALID for the TenantID tag.
	RemoveTags(ctx context.Context, acct, arn string, keys []string) error
}

// ListFilter selects and pages a list. Results are ordered by name
// (ascending) unless SortByCreationTime; After is the opaque token the
// previous page returned (it holds that page's last name, or creation
// time and name): the next page starts after that item, so rows inserted
// meanwhile never shift a page.
type ListFilter struct {
	// Tenant, when set, keeps exactly that tenant's resources (platform
	// resources are not among them); "" lists every resource of the
	// account.
	Tenant string
	// NameContains keeps names containing it (case-insensitive).
	NameContains string
	// Status keeps endpoints in that status.
	Status EndpointStatus
	// CreatedAfter and CreatedBefore bound CreationTime (exclusive).
	CreatedAfter, CreatedBefore time.Time
	// SortByCreationTime sorts by creation time instead of name; Descending
	// reverses the order.
	SortByCreationTime, Descending bool
	// Limit is the page size, 1–100 (default 10, as SageMaker's).
	Limit int
	// After continues a listing: the token of the previous page.
	After string
}

var resourceNameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

// ValidateName checks a model, endpoint config, endpoint or variant name:
// 1–63 characters of letters, digits and hyphens, not starting or ending
// with a hyphen, as SageMaker requires.
func ValidateName(field, name string) error {
	if !resourceNameRE.MatchString(name) {
		return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException",
			"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", truncateName(name), field)
	}
	return nil
}

// TenantNameSeparator joins a tenant's ID and the rest of a resource name a
// tenant's principal creates: acme's are "acme" or "acme--<name>". Tenant
// IDs never contain "--", so every name belongs to at most one tenant.
const TenantNameSeparator = "--"

// CheckTenantName refuses a name a principal of tenant t may not create:
// names are unique in an account, so a tenant's principal creates only
// names of its own name space, where a taken name can only be its own. The
// refusal is the same whether or not the name is taken.
func CheckTenantName(t, field, name string) error {
	if t == "" || name == t || strings.HasPrefix(name, t+TenantNameSeparator) {
		return nil
	}
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException",
		"%s %q: names created by principals of tenant %s must be %q or begin with %q (names are unique in the account; each tenant has its own name space)", field, truncateName(name), t, t, t+TenantNameSeparator)
}

// OwnerOf decides the tenant of a resource a caller creates: a tenant
// principal's resources are its tenant's (a TenantID tag naming another is
// refused); a platform principal's are the tenant its TenantID tag names,
// or the platform's.
func OwnerOf(callerTenant string, tags map[string]string) (string, error) {
	tagged := ""
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) {
			tagged = v
		}
	}
	switch {
	case callerTenant != "" && tagged != "" && tagged != callerTenant:
		return "", tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "the %s tag of a resource created by a principal of tenant %s must be %s", tenant.TagKey, callerTenant, callerTenant)
	case callerTenant != "":
		return callerTenant, nil
	case tagged != "":
		if err := tenant.ValidateID(tagged); err != nil {
			return "", tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "the %s tag: %s", tenant.TagKey, tenantml.ErrorMessage(err))
		}
	}
	return tagged, nil
}

// ARN returns the ARN of a resource of kind named name.
func ARN(region, acct string, kind ResourceKind, name string) string {
	return arn.New("sagemaker", region, acct, string(kind)+"/"+strings.ToLower(name)).String()
}

// ParseARN splits a SageMaker resource ARN into its kind and name.
func ParseARN(s string) (kind ResourceKind, name string, err error) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "sagemaker" {
		return "", "", fmt.Errorf("%q is not a SageMaker ARN", truncateName(s))
	}
	k, n, ok := strings.Cut(a.Resource, "/")
	if !ok {
		return "", "", fmt.Errorf("%q names no resource", truncateName(s))
	}
	return ResourceKind(k), n, nil
}

func truncateName(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
