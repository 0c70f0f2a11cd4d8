// Package onboard deploys a tenant's model in its isolation model, doing
// what the seed scenario does by hand (and what `tenantml model deploy`
// and the management API run):
//
//   - silo: the object <bucket>/<t>/model.tar.gz under t's key; an
//     execution role <t>-exec (tenant t) that may read only t's objects and
//     decrypt with t's key; the invoke role <t> (tenant t) with Policy 1;
//     model, endpoint config and endpoint <t> on dedicated workers;
//   - bridge: the same object and execution role; the shared invoke role
//     bridge-invoke with Policy 3; model, config and endpoint <t>;
//   - pool: the object <bucket>/pool/<t>.tar.gz under t's key, nothing else
//     per tenant: the shared pool endpoint (created once: model pool-model
//     over the prefix <bucket>/pool/, execution role pool-exec) loads it on
//     first use; the shared invoke role pool-invoke with Policy 2.
//
// Deploying again replaces the model: a silo or bridge endpoint is updated
// to a new model and config (the old workers serve until the new ones are
// ready); a pool tenant's object is replaced and its cached copy dropped.
package onboard

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/tenant"
)

// DefaultBucket is the platform bucket tenants' models are deployed into.
const DefaultBucket = "tenantml-models"

// Objects is the part of the object store onboarding uses.
type Objects interface {
	CreateBucket(ctx context.Context, in artifact.CreateBucketInput) (*artifact.Bucket, error)
	PutObject(ctx context.Context, in artifact.PutObjectInput, body io.Reader) (*artifact.Object, error)
	GetObject(ctx context.Context, bucket, key string, rng *artifact.Range) (*artifact.ObjectReader, error)
	DeleteObject(ctx context.Context, bucket, key string) error
}

// Tenants updates a tenant's isolation model.
type Tenants interface {
	UpdateTenant(ctx context.Context, id string, u tenant.Update) (*tenant.Tenant, error)
}

// Evictor drops a pool tenant's cached models (the fleet).
type Evictor interface {
	RemoveTenant(tenant string)
}

// Deployer deploys tenants' models.
type Deployer struct {
	AccountID  string
	Region     string
	Identity   identity.Service
	Objects    Objects
	Controller *serving.Controller
	Evictor    Evictor
	Tenants    Tenants
	// Bucket is where models are stored; default DefaultBucket.
	Bucket string
	// KeyAlias is the tenant key models are encrypted under.
	KeyAlias string
	// KeyARN returns the ARN of a tenant's key, for the execution role's
	// kms:Decrypt statement.
	KeyARN func(ctx context.Context, tenant, alias string) (string, error)
	// Image and InstanceType of the variants; defaults tenantml/xgboost
	// and ml.m5.large; InstanceCount default 1.
	Image         string
	InstanceType  string
	InstanceCount int
	// Now names model versions; default time.Now.
	Now func() time.Time
}

// Result says what a deployment made and how the tenant is invoked.
type Result struct {
	Tenant       string           `json:"tenant"`
	Isolation    tenant.Isolation `json:"isolation"`
	ModelDataURL string           `json:"modelDataUrl"`
	Endpoint     string           `json:"endpoint"`
	TargetModel  string           `json:"targetModel,omitempty"`
	InvokeRole   string           `json:"invokeRoleArn"`
	Model        string           `json:"model,omitempty"`
}

func (d *Deployer) bucket() string {
	if d.Bucket != "" {
		return d.Bucket
	}
	return DefaultBucket
}

func (d *Deployer) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// ObjectKey is where tenant t's model lives in its isolation model.
func ObjectKey(t string, iso tenant.Isolation) string {
	if iso == tenant.Pool {
		return "pool/" + serving.PoolModelKey(t)
	}
	return t + "/model.tar.gz"
}

// Deploy uploads body as tenant t's model (encrypted under t's key) and
// makes it serve in t's isolation model; it returns once the model
// serves: the tenant's endpoint — its own, or the shared pool endpoint,
// created by the first pool deployment — is InService. A tenant that is
// not active is refused.
func (d *Deployer) Deploy(ctx context.Context, t *tenant.Tenant, body io.Reader, checks artifact.Checks) (*Result, error) {
	res, err := d.deploy(ctx, t, body, checks)
	if err != nil {
		return res, err
	}
	if _, err := d.Controller.WaitEndpoint(ctx, res.Endpoint); err != nil {
		return res, err
	}
	return res, nil
}

func (d *Deployer) deploy(ctx context.Context, t *tenant.Tenant, body io.Reader, checks artifact.Checks) (*Result, error) {
	if t.Status != tenant.Active {
		return nil, tenantml.Errorf(tenantml.ECONFLICT, "tenant %s is %s: only an active tenant's model can be deployed", t.ID, t.Status)
	}
	if err := d.ensureBucket(ctx); err != nil {
		return nil, err
	}
	key := ObjectKey(t.ID, t.Isolation)
	if _, err := d.Objects.PutObject(ctx, artifact.PutObjectInput{Bucket: d.bucket(), Key: key, Encryption: artifact.KeyRef{Tenant: t.ID, KeyID: d.KeyAlias},
		ContentType: "application/x-gzip", Checks: checks}, body); err != nil {
		return nil, fmt.Errorf("upload model: %w", err)
	}
	url := "s3://" + d.bucket() + "/" + key
	route := serving.RouteOf(t.ID, t.Isolation)
	res := &Result{Tenant: t.ID, Isolation: t.Isolation, ModelDataURL: url, Endpoint: route.Endpoint, TargetModel: route.TargetModel,
		InvokeRole: d.roleARN(route.RoleName)}
	if err := d.ensureInvokeRole(ctx, t); err != nil {
		return nil, err
	}
	if t.Isolation == tenant.Pool {
		if err := d.ensurePool(ctx); err != nil {
			return nil, err
		}
		if d.Evictor != nil {
			d.Evictor.RemoveTenant(t.ID)
		}
		return res, nil
	}
	exec, err := d.ensureExecRole(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	res.Model, err = d.deploySingle(ctx, t.ID, url, exec)
	return res, err
}

func (d *Deployer) roleARN(name string) string {
	return "arn:aws:iam::" + d.AccountID + ":role/" + name
}

func (d *Deployer) ensureBucket(ctx context.Context) error {
	_, err := d.Objects.CreateBucket(ctx, artifact.CreateBucketInput{Name: d.bucket(), Account: d.AccountID})
	if err == nil || tenantml.AWSCodeOf(err) == "BucketAlreadyOwnedByYou" {
		return nil
	}
	return fmt.Errorf("create bucket %s: %w", d.bucket(), err)
}

// sageMakerTrust lets the serving platform act as an execution role, as
// SageMaker does.
const sageMakerTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// ensureRole creates role name (tenant owner, "" for a platform role) with
// the inline policy name/doc unless it exists, and puts the policy again
// either way so that it is the current one.
func (d *Deployer) ensureRole(ctx context.Context, name, owner, trust, policyName, doc string) error {
	r := &identity.Role{Name: name, AssumeRolePolicyDocument: trust, Description: "created by tenantml onboarding"}
	if owner != "" {
		r.Tags = map[string]string{tenant.TagKey: owner}
	}
	err := d.Identity.CreateRole(ctx, d.AccountID, r)
	switch {
	case err == nil:
	case tenantml.AWSCodeOf(err) == identity.EntityAlreadyExists:
		existing, gerr := d.Identity.GetRole(ctx, d.AccountID, name)
		if gerr != nil {
			return fmt.Errorf("role %s: %w", name, gerr)
		}
		if existing.TenantID != owner {
			return tenantml.Errorf(tenantml.ECONFLICT, "role %s exists with another tenant: onboarding will not reuse it", name)
		}
	default:
		return fmt.Errorf("create role %s: %w", name, err)
	}
	if err := d.Identity.PutInlinePolicy(ctx, d.AccountID, identity.Ref{Kind: identity.KindRole, Name: name}, policyName, doc); err != nil {
		return fmt.Errorf("role %s policy: %w", name, err)
	}
	return nil
}

// invokeTrust lets the account's principals (the operator's brokers and
// the tenant gateway) assume an invoke role with session tags; the tenant
// invariant decides the session's tenant.
func (d *Deployer) invokeTrust() string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + d.AccountID + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
}

func (d *Deployer) ensureInvokeRole(ctx context.Context, t *tenant.Tenant) error {
	route := serving.RouteOf(t.ID, t.Isolation)
	owner := ""
	if t.Isolation == tenant.Silo {
		owner = t.ID
	}
	return d.ensureRole(ctx, route.RoleName, owner, d.invokeTrust(), "invoke", serving.InvokePolicy(t.Isolation, d.Region, d.AccountID, t.ID))
}

// ensureExecRole creates tenant t's execution role: it may read only t's
// objects in the bucket and decrypt only with t's key.
func (d *Deployer) ensureExecRole(ctx context.Context, t string) (string, error) {
	keyARN, err := d.KeyARN(ctx, t, d.KeyAlias)
	if err != nil {
		return "", fmt.Errorf("key of tenant %s: %w", t, err)
	}
	name := t + "-exec"
	doc := `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + d.bucket() + `/` + t + `/*"},
{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + d.bucket() + `","Condition":{"StringLike":{"s3:prefix":"` + t + `/*"}}},
{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + keyARN + `"}]}`
	return d.roleARN(name), d.ensureRole(ctx, name, t, sageMakerTrust, "read-model", doc)
}

// poolModel, poolExec are the shared pool's model and execution role.
const (
	poolModel = "pool-model"
	poolExec  = "pool-exec"
)

// ensurePool creates the shared pool endpoint once: a MultiModel model
// over <bucket>/pool/ read by the platform role pool-exec.
func (d *Deployer) ensurePool(ctx context.Context) error {
	ctl := d.Controller
	if _, err := ctl.DescribeEndpoint(ctx, "", serving.PoolEndpointName); err == nil {
		return nil
	} else if tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		return err
	}
	doc := `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + d.bucket() + `/pool/*"},
{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + d.bucket() + `","Condition":{"StringLike":{"s3:prefix":"pool/*"}}},
{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`
	if err := d.ensureRole(ctx, poolExec, "", sageMakerTrust, "read-pool-models", doc); err != nil {
		return err
	}
	m := &serving.Model{Name: poolModel, ExecutionRoleARN: d.roleARN(poolExec),
		PrimaryContainer: serving.Container{Image: d.image(), Mode: string(serving.ModeMulti), ModelDataURL: "s3://" + d.bucket() + "/pool/"}}
	if err := ctl.CreateModel(ctx, "", m); err != nil && !exists(err) {
		return fmt.Errorf("pool model: %w", err)
	}
	ec := &serving.EndpointConfig{Name: serving.PoolEndpointName, ProductionVariants: []serving.ProductionVariant{d.variant(poolModel)}}
	if err := ctl.CreateEndpointConfig(ctx, "", ec); err != nil && !exists(err) {
		return fmt.Errorf("pool endpoint config: %w", err)
	}
	if err := ctl.CreateEndpoint(ctx, "", &serving.Endpoint{Name: serving.PoolEndpointName, EndpointConfigName: serving.PoolEndpointName}); err != nil && !exists(err) {
		return fmt.Errorf("pool endpoint: %w", err)
	}
	return nil
}

func exists(err error) bool {
	return tenantml.AWSCodeOf(err) == "ValidationException" && strings.Contains(tenantml.ErrorMessage(err), "already existing")
}

func (d *Deployer) image() string {
	if d.Image != "" {
		return d.Image
	}
	return "tenantml/xgboost"
}

func (d *Deployer) variant(model string) serving.ProductionVariant {
	v := serving.ProductionVariant{VariantName: "AllTraffic", ModelName: model, InitialInstanceCount: d.InstanceCount, InstanceType: d.InstanceType, InitialVariantWeight: 1}
	if v.InitialInstanceCount == 0 {
		v.InitialInstanceCount = 1
	}
	if v.InstanceType == "" {
		v.InstanceType = "ml.m5.large"
	}
	return v
}

// deploySingle creates a new model version and config for tenant t and
// creates its endpoint, or updates it to them.
func (d *Deployer) deploySingle(ctx context.Context, t, url, execRole string) (string, error) {
	ctl := d.Controller
	version := t + "-" + d.now().Format("20060102150405")
	m := &serving.Model{Name: version, ExecutionRoleARN: execRole, Tags: map[string]string{tenant.TagKey: t},
		PrimaryContainer: serving.Container{Image: d.image(), Mode: string(serving.ModeSingle), ModelDataURL: url}}
	if err := ctl.CreateModel(ctx, "", m); err != nil {
		return "", fmt.Errorf("model: %w", err)
	}
	ec := &serving.EndpointConfig{Name: version, Tags: map[string]string{tenant.TagKey: t}, ProductionVariants: []serving.ProductionVariant{d.variant(version)}}
	if err := ctl.CreateEndpointConfig(ctx, "", ec); err != nil {
		return "", fmt.Errorf("endpoint config: %w", err)
	}
	_, err := ctl.DescribeEndpoint(ctx, "", t)
	switch tenantml.ErrorCode(err) {
	case tenantml.ENOTFOUND:
		err = ctl.CreateEndpoint(ctx, "", &serving.Endpoint{Name: t, EndpointConfigName: version, Tags: map[string]string{tenant.TagKey: t}})
	case "":
		_, err = ctl.UpdateEndpoint(ctx, "", t, version)
	}
	if err != nil {
		return "", fmt.Errorf("endpoint %s: %w", t, err)
	}
	return version, nil
}

// Retire removes what serving holds for tenant t (offboarding, erasure,
// a move to another isolation model): its endpoint and its cached pool
// models. Its objects stay until the keys are shredded; its roles stay
// for the audit trail until the tenant is erased.
func (d *Deployer) Retire(ctx context.Context, t string) error {
	if err := d.Controller.DeleteEndpoint(ctx, "", t); err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		return fmt.Errorf("delete endpoint %s: %w", t, err)
	}
	if d.Evictor != nil {
		d.Evictor.RemoveTenant(t)
	}
	return nil
}

// Provision implements tenant.Provisioner: a new tenant has nothing to
// serve until its first model is deployed (Deploy creates what its
// isolation model needs then).
func (d *Deployer) Provision(context.Context, *tenant.Tenant) error { return nil }

var _ tenant.Provisioner = (*Deployer)(nil)

// SetIsolation moves tenant t to isolation model to without losing
// requests: the model is copied to where the new model keeps it and served
// there (the new endpoint InService), then the tenant's isolation changes
// (the tenant gateway routes by it from the next request), then what the
// old model served is retired (an endpoint drains its in-flight requests
// before it stops). Callers that name the old endpoint or role themselves
// (SigV4 clients) must follow the change.
func (d *Deployer) SetIsolation(ctx context.Context, t *tenant.Tenant, to tenant.Isolation) (*Result, error) {
	if err := tenant.ValidateIsolation(to); err != nil {
		return nil, err
	}
	from := t.Isolation
	if from == to {
		return nil, tenantml.Errorf(tenantml.ECONFLICT, "tenant %s is already %s", t.ID, to)
	}
	src, err := d.Objects.GetObject(ctx, d.bucket(), ObjectKey(t.ID, from), nil)
	if err != nil {
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return nil, tenantml.Errorf(tenantml.ECONFLICT, "tenant %s has no deployed model to move: deploy one first", t.ID)
		}
		return nil, fmt.Errorf("read model: %w", err)
	}
	moved := *t
	moved.Isolation = to
	res, err := d.Deploy(ctx, &moved, src, artifact.Checks{ContentLength: src.Object.Size})
	src.Close()
	if err != nil {
		return nil, err
	}
	if _, err := d.Tenants.UpdateTenant(ctx, t.ID, tenant.Update{Isolation: &to}); err != nil {
		return nil, fmt.Errorf("update tenant: %w", err)
	}
	switch {
	case from == tenant.Pool:
		if err := d.Objects.DeleteObject(ctx, d.bucket(), ObjectKey(t.ID, from)); err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			return nil, fmt.Errorf("remove the pool copy: %w", err)
		}
		if d.Evictor != nil {
			d.Evictor.RemoveTenant(t.ID)
		}
	case to == tenant.Pool:
		if err := d.Retire(ctx, t.ID); err != nil {
			return nil, err
		}
	}
	return res, nil
}
