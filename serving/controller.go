package serving

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/tenant"
)

// Deployment is what a Deployer makes serve: an endpoint, its config and
// the models the config's variants name.
type Deployment struct {
	Endpoint *Endpoint
	Config   *EndpointConfig
	Models   map[string]*Model

	// reason is the FailureReason the endpoint keeps once deployed (an
	// update rolled back at start).
	reason string

	// Network is the network path of the request that created or updated
	// the endpoint (the VPC endpoint of its listener, stored with the
	// endpoint): the models are read as the execution role from that
	// network, as SageMaker with a VpcConfig reads them through the VPC's
	// endpoint, so a bucket or key policy's aws:SourceVpce condition
	// applies to the read, at start too.
	Network authz.Network
}

// Deployer runs endpoints' workers and routes their invocations; the
// gateway implements it over a worker Backend.
type Deployer interface {
	// Deploy makes d serve, replacing what served the endpoint before
	// without dropping requests; it returns once every variant's workers
	// are ready (the endpoint may then be InService) or with an error fit
	// for FailureReason.
	Deploy(ctx context.Context, d *Deployment) error
	// Undeploy stops the endpoint's workers and forgets it.
	Undeploy(ctx context.Context, acct, endpoint string) error
}

// Checker validates what the control plane cannot judge alone: the images
// a container may name and the instance types a variant may ask for.
type Checker interface {
	// CheckImage reports whether image is a model server this platform
	// runs (the native runtime's names, the operator's registered images).
	CheckImage(image string) error
	// CheckInstanceType reports whether name is a known worker size.
	CheckInstanceType(name string) error
}

// Limits of the control plane, as SageMaker's.
const (
	MaxVariants      = 10
	MaxInstanceCount = 100
	MaxTags          = 50
)

// Controller is the control plane: it validates, stores and deploys the
// resources of one account. Every method takes the caller's tenant ("" for
// a platform principal): a tenant's caller creates resources of its tenant
// only, in its name space, and a resource of another tenant or of the
// platform it names (a model in a variant, an endpoint config) answers
// exactly as a missing one.
type Controller struct {
	Store     Store
	Deployer  Deployer
	Checker   Checker
	Region    string
	AccountID string
	Log       *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Quota, when set, caps each tenant's models and endpoints.
	Quota ResourceQuota
	// Shifter, Rollouts and Alarms run blue/green updates
	// (UpdateEndpointDeployment); without them an update with a
	// DeploymentConfig is refused.
	Shifter  Shifter
	Rollouts RolloutStore
	Alarms   Alarms
	// Events receives the rollouts' lifecycle events; may be nil.
	Events Events
	// Clock is the time rollouts bake by; nil means the real one.
	Clock Clock
	// Accounts, when set, lists the deployment's further accounts (beyond
	// AccountID), whose endpoints Resume redeploys too.
	Accounts func(ctx context.Context) ([]string, error)

	quota   quotaGate
	wg      sync.WaitGroup
	mu      sync.Mutex
	pending map[string]chan struct{}      // endpoint name → closed when its deployment ends
	cancels map[string]context.CancelFunc // endpoint name → stops its rollout
}

func (c *Controller) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// visible reports whether a caller of tenant caller may see a resource of
// tenant owner: a platform caller sees every resource, a tenant's caller
// only its own tenant's — the platform's (the shared pool) are as missing
// to it as another tenant's, as IAM hides the platform's entities. A pool
// tenant invokes the pool endpoint through the data plane; it never reads,
// changes or builds on the platform's control-plane resources.
func visible(caller, owner string) bool {
	return caller == "" || owner == caller
}

// ErrNotFound is SageMaker's answer for a resource that does not exist (or
// that the caller's tenant may not see): ValidationException "Could not
// find ...".
func ErrNotFound(kind ResourceKind, acct, region, name string) error {
	what := map[ResourceKind]string{KindModel: "model", KindEndpointConfig: "endpoint configuration", KindEndpoint: "endpoint"}[kind]
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationException", "Could not find %s %q.", what, ARN(region, acct, kind, name))
}

func validation(format string, args ...any) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", format, args...)
}

// checkTags validates resource tags as SageMaker does.
func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return validation("at most %d tags", MaxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return validation("tag keys must be 1-128 characters not beginning with aws:, values at most 256")
		}
	}
	return nil
}

// newResource checks a resource name and tags for a caller of tenant
// callerTenant and returns the resource's owner.
func newResource(callerTenant, field, name string, tags map[string]string) (string, error) {
	if err := ValidateName(field, name); err != nil {
		return "", err
	}
	if err := CheckTenantName(callerTenant, field, name); err != nil {
		return "", err
	}
	if err := checkTags(tags); err != nil {
		return "", err
	}
	return OwnerOf(callerTenant, tags)
}

// withTenantTag returns tags with the owner's TenantID tag, so that
// aws:ResourceTag/TenantID always names the owner.
func withTenantTag(tags map[string]string, owner string) map[string]string {
	out := make(map[string]string, len(tags)+1)
	for k, v := range tags {
		if !strings.EqualFold(k, tenant.TagKey) {
			out[k] = v
		}
	}
	if owner != "" {
		out[tenant.TagKey] = owner
	}
	return out
}

// S3URL is a parsed s3://bucket/key URL.
type S3URL struct{ Bucket, Key string }

// ParseS3URL parses a ModelDataUrl: s3://bucket/key, the key a prefix
// ending in "/" for a multi-model container.
func ParseS3URL(s string) (S3URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return S3URL{}, validation("ModelDataUrl %q must be an s3://bucket/key URL", truncateName(s))
	}
	return S3URL{Bucket: u.Host, Key: strings.TrimPrefix(u.Path, "/")}, nil
}

// Scoped is the controller as one account sees it: every method acts on
// that account's resources only (a request acts in its caller's account).
type Scoped struct {
	*Controller
	acct string
}

// In returns the controller of account acct.
func (c *Controller) In(acct string) *Scoped { return &Scoped{Controller: c, acct: acct} }

// Account is the account the scoped controller acts in.
func (c *Scoped) Account() string { return c.acct }

// pendingKey names an account's endpoint among the deployments in progress.
func pendingKey(acct, name string) string { return acct + "/" + strings.ToLower(name) }

// The Controller's own methods act in its primary account (AccountID).

// CreateModel is In(AccountID).CreateModel.
func (c *Controller) CreateModel(ctx context.Context, callerTenant string, m *Model) error {
	return c.In(c.AccountID).CreateModel(ctx, callerTenant, m)
}

// DescribeModel is In(AccountID).DescribeModel.
func (c *Controller) DescribeModel(ctx context.Context, callerTenant, name string) (*Model, error) {
	return c.In(c.AccountID).DescribeModel(ctx, callerTenant, name)
}

// CreateEndpointConfig is In(AccountID).CreateEndpointConfig.
func (c *Controller) CreateEndpointConfig(ctx context.Context, callerTenant string, ec *EndpointConfig) error {
	return c.In(c.AccountID).CreateEndpointConfig(ctx, callerTenant, ec)
}

// DescribeEndpointConfig is In(AccountID).DescribeEndpointConfig.
func (c *Controller) DescribeEndpointConfig(ctx context.Context, callerTenant, name string) (*EndpointConfig, error) {
	return c.In(c.AccountID).DescribeEndpointConfig(ctx, callerTenant, name)
}

// CreateEndpoint is In(AccountID).CreateEndpoint.
func (c *Controller) CreateEndpoint(ctx context.Context, callerTenant string, e *Endpoint) error {
	return c.In(c.AccountID).CreateEndpoint(ctx, callerTenant, e)
}

// DescribeEndpoint is In(AccountID).DescribeEndpoint.
func (c *Controller) DescribeEndpoint(ctx context.Context, callerTenant, name string) (*Endpoint, error) {
	return c.In(c.AccountID).DescribeEndpoint(ctx, callerTenant, name)
}

// UpdateEndpoint is In(AccountID).UpdateEndpoint.
func (c *Controller) UpdateEndpoint(ctx context.Context, callerTenant, name, configName string) (*Endpoint, error) {
	return c.In(c.AccountID).UpdateEndpoint(ctx, callerTenant, name, configName)
}

// DeleteEndpoint is In(AccountID).DeleteEndpoint.
func (c *Controller) DeleteEndpoint(ctx context.Context, callerTenant, name string) error {
	return c.In(c.AccountID).DeleteEndpoint(ctx, callerTenant, name)
}

// WaitEndpoint is In(AccountID).WaitEndpoint.
func (c *Controller) WaitEndpoint(ctx context.Context, name string) (*Endpoint, error) {
	return c.In(c.AccountID).WaitEndpoint(ctx, name)
}

// Resource is In(AccountID).Resource.
func (c *Controller) Resource(ctx context.Context, kind ResourceKind, name string) (string, map[string]string, error) {
	return c.In(c.AccountID).Resource(ctx, kind, name)
}

// CreateModel validates and stores a model.
func (c *Scoped) CreateModel(ctx context.Context, callerTenant string, m *Model) error {
	owner, err := newResource(callerTenant, "modelName", m.Name, m.Tags)
	if err != nil {
		return err
	}
	ct := &m.PrimaryContainer
	if ct.Image == "" {
		return validation("PrimaryContainer.Image is required")
	}
	if err := c.Checker.CheckImage(ct.Image); err != nil {
		return validation("image %q: %s", truncateName(ct.Image), tenantml.ErrorMessage(err))
	}
	if ct.Mode == "" {
		ct.Mode = "SingleModel"
	}
	u, err := ParseS3URL(ct.ModelDataURL)
	if err != nil {
		return err
	}
	switch ct.Mode {
	case "SingleModel":
		if u.Key == "" || strings.HasSuffix(u.Key, "/") {
			return validation("a SingleModel container's ModelDataUrl must name an object, not a prefix")
		}
	case "MultiModel":
		if u.Key != "" && !strings.HasSuffix(u.Key, "/") {
			return validation("a MultiModel container's ModelDataUrl must be a prefix ending in /")
		}
	default:
		return validation("Mode must be SingleModel or MultiModel")
	}
	if err := checkPin(ct); err != nil {
		return err
	}
	if err := c.checkRoleARN(m.ExecutionRoleARN); err != nil {
		return err
	}
	m.AccountID, m.Tenant, m.CreatedAt = c.acct, owner, c.now()
	m.ARN = ARN(c.Region, c.acct, KindModel, m.Name)
	m.Tags = withTenantTag(m.Tags, owner)
	c.quota.mu.Lock()
	defer c.quota.mu.Unlock()
	if err := c.checkQuota(ctx, owner, KindModel); err != nil {
		return err
	}
	if err := c.Store.CreateModel(ctx, m); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			return validation("Cannot create already existing model %q.", m.ARN)
		}
		return err
	}
	return nil
}

// checkPin checks a container's model data pin: a lower-case hex SHA-256
// and a size, on a single model's object.
func checkPin(ct *Container) error {
	if ct.ModelDataSHA256 == "" && ct.ModelDataSize == 0 {
		return nil
	}
	if ct.Mode != "SingleModel" {
		return validation("a MultiModel container's model data cannot be pinned by digest")
	}
	if len(ct.ModelDataSHA256) != 64 || strings.Trim(ct.ModelDataSHA256, "0123456789abcdef") != "" || ct.ModelDataSize < 0 {
		return validation("the model data's pinned digest must be a hex SHA-256 and its size not negative")
	}
	return nil
}

// checkRoleARN checks an ExecutionRoleArn names a role of the account.
func (c *Scoped) checkRoleARN(s string) error {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || a.AccountID != c.acct || !strings.HasPrefix(a.Resource, "role/") {
		return validation("ExecutionRoleArn %q must be the ARN of a role of account %s", truncateName(s), c.acct)
	}
	return nil
}

// DescribeModel returns a model the caller may see.
func (c *Scoped) DescribeModel(ctx context.Context, callerTenant, name string) (*Model, error) {
	m, err := c.Store.GetModel(ctx, c.acct, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(callerTenant, m.Tenant)) {
		return nil, ErrNotFound(KindModel, c.acct, c.Region, name)
	}
	return m, err
}

// ListModels lists the caller's tenant's models (every model for a
// platform caller).
func (c *Scoped) ListModels(ctx context.Context, callerTenant string, f ListFilter) ([]*Model, string, error) {
	f.Tenant = callerTenant
	return c.Store.ListModels(ctx, c.acct, f)
}

// DeleteModel deletes a model the caller may see.
func (c *Scoped) DeleteModel(ctx context.Context, callerTenant, name string) error {
	if _, err := c.DescribeModel(ctx, callerTenant, name); err != nil {
		return err
	}
	err := c.Store.DeleteModel(ctx, c.acct, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return ErrNotFound(KindModel, c.acct, c.Region, name)
	}
	return err
}

// CreateEndpointConfig validates and stores an endpoint config. Its models
// must exist and be visible to the caller (a tenant's caller: its own
// tenant's); a platform caller's config may mix platform models with one
// tenant's.
func (c *Scoped) CreateEndpointConfig(ctx context.Context, callerTenant string, ec *EndpointConfig) error {
	owner, err := newResource(callerTenant, "endpointConfigName", ec.Name, ec.Tags)
	if err != nil {
		return err
	}
	if n := len(ec.ProductionVariants); n == 0 || n > MaxVariants {
		return validation("an endpoint config needs 1 to %d production variants", MaxVariants)
	}
	seen := map[string]bool{}
	for i := range ec.ProductionVariants {
		v := &ec.ProductionVariants[i]
		if err := ValidateName("variantName", v.VariantName); err != nil {
			return err
		}
		if seen[strings.ToLower(v.VariantName)] {
			return validation("variant name %q is used twice", v.VariantName)
		}
		seen[strings.ToLower(v.VariantName)] = true
		if v.InitialInstanceCount < 1 || v.InitialInstanceCount > MaxInstanceCount {
			return validation("InitialInstanceCount of %s must be 1 to %d", v.VariantName, MaxInstanceCount)
		}
		if err := c.Checker.CheckInstanceType(v.InstanceType); err != nil {
			return validation("InstanceType %q of %s: %s", truncateName(v.InstanceType), v.VariantName, tenantml.ErrorMessage(err))
		}
		if v.InitialVariantWeight < 0 {
			return validation("InitialVariantWeight of %s must not be negative", v.VariantName)
		}
		if v.InitialVariantWeight == 0 {
			v.InitialVariantWeight = 1
		}
		m, err := c.DescribeModel(ctx, callerTenant, v.ModelName)
		if err != nil {
			return err
		}
		if m.Tenant != "" && owner != "" && m.Tenant != owner {
			// Only a platform caller can get here (a tenant caller sees no
			// other tenant's model): it names the tenants it mixes.
			return validation("model %s belongs to tenant %s, the endpoint config to tenant %s: a config serves one tenant", m.Name, m.Tenant, owner)
		}
		if m.Tenant != "" && owner == "" {
			owner = m.Tenant // a config of a tenant's model is the tenant's
		}
	}
	ec.AccountID, ec.Tenant, ec.CreatedAt = c.acct, owner, c.now()
	ec.ARN = ARN(c.Region, c.acct, KindEndpointConfig, ec.Name)
	ec.Tags = withTenantTag(ec.Tags, owner)
	if err := c.Store.CreateEndpointConfig(ctx, ec); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			return validation("Cannot create already existing endpoint configuration %q.", ec.ARN)
		}
		return err
	}
	return nil
}

// DescribeEndpointConfig returns an endpoint config the caller may see.
func (c *Scoped) DescribeEndpointConfig(ctx context.Context, callerTenant, name string) (*EndpointConfig, error) {
	ec, err := c.Store.GetEndpointConfig(ctx, c.acct, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(callerTenant, ec.Tenant)) {
		return nil, ErrNotFound(KindEndpointConfig, c.acct, c.Region, name)
	}
	return ec, err
}

// ListEndpointConfigs lists the caller's tenant's endpoint configs.
func (c *Scoped) ListEndpointConfigs(ctx context.Context, callerTenant string, f ListFilter) ([]*EndpointConfig, string, error) {
	f.Tenant = callerTenant
	return c.Store.ListEndpointConfigs(ctx, c.acct, f)
}

// DeleteEndpointConfig deletes an endpoint config the caller may see.
func (c *Scoped) DeleteEndpointConfig(ctx context.Context, callerTenant, name string) error {
	if _, err := c.DescribeEndpointConfig(ctx, callerTenant, name); err != nil {
		return err
	}
	err := c.Store.DeleteEndpointConfig(ctx, c.acct, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return ErrNotFound(KindEndpointConfig, c.acct, c.Region, name)
	}
	return err
}

// CreateEndpoint stores an endpoint in Creating and deploys it in the
// background: it becomes InService once its workers are ready, or Failed
// with the reason.
func (c *Scoped) CreateEndpoint(ctx context.Context, callerTenant string, e *Endpoint) error {
	owner, err := newResource(callerTenant, "endpointName", e.Name, e.Tags)
	if err != nil {
		return err
	}
	d, err := c.deployment(ctx, callerTenant, e.EndpointConfigName)
	if err != nil {
		return err
	}
	switch {
	case d.Config.Tenant != "" && owner != "" && d.Config.Tenant != owner:
		return validation("endpoint config %s belongs to tenant %s, the endpoint to tenant %s", d.Config.Name, d.Config.Tenant, owner)
	case d.Config.Tenant != "" && owner == "":
		owner = d.Config.Tenant
	}
	now := c.now()
	n := authz.NetworkOf(ctx)
	e.SourceVPCE, e.SourceVPC = n.VPCEndpoint, n.VPC
	e.AccountID, e.Tenant, e.Status, e.CreatedAt, e.LastModifiedAt = c.acct, owner, StatusCreating, now, now
	e.ARN = ARN(c.Region, c.acct, KindEndpoint, e.Name)
	e.Tags = withTenantTag(e.Tags, owner)
	if err := c.createEndpoint(ctx, owner, e); err != nil {
		return err
	}
	d.Endpoint, d.Network = e, n
	c.deploy(d)
	return nil
}

// deployment loads an endpoint config and its models as the caller sees
// them.
func (c *Scoped) deployment(ctx context.Context, callerTenant, configName string) (*Deployment, error) {
	ec, err := c.DescribeEndpointConfig(ctx, callerTenant, configName)
	if err != nil {
		return nil, err
	}
	d := &Deployment{Config: ec, Models: map[string]*Model{}}
	for _, v := range ec.ProductionVariants {
		m, err := c.Store.GetModel(ctx, c.acct, v.ModelName)
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return nil, validation("model %s of variant %s no longer exists", v.ModelName, v.VariantName)
		}
		if err != nil {
			return nil, err
		}
		d.Models[v.ModelName] = m
	}
	return d, nil
}

// deploy runs the deployment in the background and records the outcome.
func (c *Scoped) deploy(d *Deployment) {
	c.wg.Add(1)
	done := make(chan struct{})
	name := pendingKey(c.acct, d.Endpoint.Name)
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]chan struct{}{}
	}
	c.pending[name] = done
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			if c.pending[name] == done {
				delete(c.pending, name)
			}
			c.mu.Unlock()
			close(done)
		}()
		ctx := authz.WithNetwork(context.Background(), d.Network)
		err := c.Deployer.Deploy(ctx, d)
		e := *d.Endpoint
		for range 3 { // retry a version conflict with the fresh row
			cur, gerr := c.Store.GetEndpoint(ctx, c.acct, e.Name)
			if gerr != nil {
				c.logError("read endpoint after deployment", e.Name, gerr)
				return
			}
			if cur.Status == StatusDeleting {
				return
			}
			cur.LastModifiedAt = c.now()
			if err != nil {
				cur.Status, cur.FailureReason = StatusFailed, failureReason(err)
			} else {
				cur.Status, cur.FailureReason, cur.EndpointConfigName = StatusInService, d.reason, d.Config.Name
			}
			uerr := c.Store.UpdateEndpoint(ctx, cur)
			if tenantml.ErrorCode(uerr) == tenantml.ECONFLICT {
				continue
			}
			if uerr != nil {
				c.logError("record deployment", e.Name, uerr)
			}
			return
		}
	}()
}

func failureReason(err error) string {
	msg := err.Error()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	return msg
}

func (c *Scoped) logError(what, endpoint string, err error) {
	if c.Log != nil {
		c.Log.Error(what, "account", c.acct, "endpoint", endpoint, "error", err)
	}
}

func (c *Controller) logError(what, endpoint string, err error) {
	if c.Log != nil {
		c.Log.Error(what, "endpoint", endpoint, "error", err)
	}
}

// DescribeEndpoint returns an endpoint the caller may see.
func (c *Scoped) DescribeEndpoint(ctx context.Context, callerTenant, name string) (*Endpoint, error) {
	e, err := c.Store.GetEndpoint(ctx, c.acct, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(callerTenant, e.Tenant)) {
		return nil, ErrNotFound(KindEndpoint, c.acct, c.Region, name)
	}
	return e, err
}

// ListEndpoints lists the caller's tenant's endpoints.
func (c *Scoped) ListEndpoints(ctx context.Context, callerTenant string, f ListFilter) ([]*Endpoint, string, error) {
	f.Tenant = callerTenant
	return c.Store.ListEndpoints(ctx, c.acct, f)
}

// UpdateEndpoint moves an InService (or Failed) endpoint to a new endpoint
// config: it is Updating while the new workers start, and the old ones
// serve until the new ones are ready.
func (c *Scoped) UpdateEndpoint(ctx context.Context, callerTenant, name, configName string) (*Endpoint, error) {
	return c.UpdateEndpointDeployment(ctx, callerTenant, UpdateInput{Endpoint: name, Config: configName})
}

// DeleteEndpoint stops the endpoint's workers and deletes it.
func (c *Scoped) DeleteEndpoint(ctx context.Context, callerTenant, name string) error {
	e, err := c.DescribeEndpoint(ctx, callerTenant, name)
	if err != nil {
		return err
	}
	e.Status, e.LastModifiedAt = StatusDeleting, c.now()
	if err := c.Store.UpdateEndpoint(ctx, e); err != nil && tenantml.ErrorCode(err) != tenantml.ECONFLICT {
		return err
	}
	c.stopRollout(e.Name)
	if c.Rollouts != nil {
		if err := c.Rollouts.DeleteRollout(ctx, c.acct, e.Name); err != nil {
			return fmt.Errorf("delete the endpoint's update: %w", err)
		}
	}
	if err := c.Deployer.Undeploy(ctx, c.acct, e.Name); err != nil {
		return fmt.Errorf("stop endpoint %s: %w", e.Name, err)
	}
	err = c.Store.DeleteEndpoint(ctx, c.acct, e.Name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil
	}
	return err
}

// Resume redeploys every endpoint of every account that was serving,
// updating or being created when the server stopped; call it at start.
func (c *Controller) Resume(ctx context.Context) error {
	accts := []string{c.AccountID}
	if c.Accounts != nil {
		more, err := c.Accounts(ctx)
		if err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		accts = append(accts, more...)
	}
	seen := map[string]bool{}
	for _, a := range accts {
		if seen[a] {
			continue
		}
		seen[a] = true
		if err := c.In(a).resume(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (c *Scoped) resume(ctx context.Context) error {
	f := ListFilter{Limit: 100}
	for {
		page, next, err := c.Store.ListEndpoints(ctx, c.acct, f)
		if err != nil {
			return fmt.Errorf("list endpoints: %w", err)
		}
		for _, e := range page {
			switch e.Status {
			case StatusInService, StatusCreating, StatusUpdating:
				if e.Status == StatusUpdating {
					c.resumeRollout(ctx, e)
				}
				d, err := c.deployment(ctx, "", e.EndpointConfigName)
				if err != nil {
					c.logError("resume endpoint", e.Name, err)
					continue
				}
				d.Endpoint, d.reason, d.Network = e, e.FailureReason, authz.Network{VPCEndpoint: e.SourceVPCE, VPC: e.SourceVPC}
				c.deploy(d)
			case StatusDeleting:
				if err := c.Store.DeleteEndpoint(ctx, c.acct, e.Name); err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
					c.logError("finish deleting endpoint", e.Name, err)
				}
			}
		}
		if next == "" {
			return nil
		}
		f.After = next
	}
}

// WaitEndpoint waits until the endpoint's deployment in progress (if any)
// ends, and returns its status: an error for Failed (with the reason) or a
// missing endpoint.
func (c *Scoped) WaitEndpoint(ctx context.Context, name string) (*Endpoint, error) {
	c.mu.Lock()
	done := c.pending[pendingKey(c.acct, name)]
	c.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e, err := c.DescribeEndpoint(ctx, "", name)
	if err != nil {
		return nil, err
	}
	if e.Status == StatusFailed {
		return e, tenantml.Errorf(tenantml.EUNAVAILABLE, "endpoint %s failed: %s", e.Name, e.FailureReason)
	}
	return e, nil
}

// Wait returns once every background deployment has finished, for tests
// and shutdown.
func (c *Controller) Wait() { c.wg.Wait() }

// Resource resolves the ARN of a resource to its tenant and tags, for
// authorization; ENOTFOUND when it does not exist.
func (c *Scoped) Resource(ctx context.Context, kind ResourceKind, name string) (owner string, tags map[string]string, err error) {
	switch kind {
	case KindModel:
		m, err := c.Store.GetModel(ctx, c.acct, name)
		if err != nil {
			return "", nil, err
		}
		return m.Tenant, m.Tags, nil
	case KindEndpointConfig:
		ec, err := c.Store.GetEndpointConfig(ctx, c.acct, name)
		if err != nil {
			return "", nil, err
		}
		return ec.Tenant, ec.Tags, nil
	case KindEndpoint:
		e, err := c.Store.GetEndpoint(ctx, c.acct, name)
		if err != nil {
			return "", nil, err
		}
		return e.Tenant, e.Tags, nil
	}
	return "", nil, tenantml.Errorf(tenantml.ENOTFOUND, "no such resource kind %q", kind)
}

// AddTags adds or replaces tags of a resource the caller may see; the
// TenantID tag cannot change.
func (c *Scoped) AddTags(ctx context.Context, callerTenant, resourceARN string, tags map[string]string) error {
	owner, err := c.visibleByARN(ctx, callerTenant, resourceARN)
	if err != nil {
		return err
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) && v != owner {
			return validation("the %s tag of a resource is its tenant: it cannot change", tenant.TagKey)
		}
	}
	return c.Store.SetTags(ctx, c.acct, resourceARN, tags)
}

// DeleteTags removes tags of a resource the caller may see; the TenantID
// tag cannot be removed.
func (c *Scoped) DeleteTags(ctx context.Context, callerTenant, resourceARN string, keys []string) error {
	owner, err := c.visibleByARN(ctx, callerTenant, resourceARN)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if strings.EqualFold(k, tenant.TagKey) && owner != "" {
			return validation("the %s tag of a resource is its tenant: it cannot be removed", tenant.TagKey)
		}
	}
	return c.Store.RemoveTags(ctx, c.acct, resourceARN, keys)
}

// ListTags returns the tags of a resource the caller may see.
func (c *Scoped) ListTags(ctx context.Context, callerTenant, resourceARN string) (map[string]string, error) {
	if _, err := c.visibleByARN(ctx, callerTenant, resourceARN); err != nil {
		return nil, err
	}
	kind, name, _ := ParseARN(resourceARN)
	_, tags, err := c.Resource(ctx, kind, name)
	return tags, err
}

// visibleByARN returns the owner of the resource arn names, or the
// not-found answer when it does not exist or the caller may not see it.
func (c *Scoped) visibleByARN(ctx context.Context, callerTenant, resourceARN string) (string, error) {
	kind, name, err := ParseARN(resourceARN)
	if err != nil {
		return "", validation("ResourceArn: %s", err.Error())
	}
	if a := arn.AccountOf(resourceARN); a != c.acct {
		return "", ErrNotFound(kind, c.acct, c.Region, name) // another account's
	}
	owner, _, err := c.Resource(ctx, kind, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(callerTenant, owner)) {
		return "", ErrNotFound(kind, c.acct, c.Region, name)
	}
	return owner, err
}

// createEndpoint stores e within its tenant's endpoint quota.
func (c *Scoped) createEndpoint(ctx context.Context, owner string, e *Endpoint) error {
	c.quota.mu.Lock()
	defer c.quota.mu.Unlock()
	if err := c.checkQuota(ctx, owner, KindEndpoint); err != nil {
		return err
	}
	if err := c.Store.CreateEndpoint(ctx, e); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			return validation("Cannot create already existing endpoint %q.", e.ARN)
		}
		return err
	}
	return nil
}
