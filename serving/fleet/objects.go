package fleet

import (
	"context"
	"fmt"
	"io"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/tenant"
)

// ObjectSource is the ModelSource over the encrypted object store: the
// serving platform acts as a model's execution role, as SageMaker assumes
// it, and reads the model only if that role may — s3:GetObject on the
// object (its identity policies and the bucket's policy) and kms:Decrypt on
// the key that encrypts it (the key's policy) — decided by the IAM engine
// like every request, the tenant boundary included.
type ObjectSource struct {
	AccountID string
	Objects   *artifact.Store
	Keys      *keys.Service
	Identity  identity.Service
	Authz     authz.Authorizer
	// Policies parses bucket and key policies; *authz.Engine implements it.
	Policies authz.Parser
}

var _ ModelSource = (*ObjectSource)(nil)

// Object implements ModelSource.
func (o *ObjectSource) Object(ctx context.Context, roleARN string, u serving.S3URL) (Model, error) {
	caller, err := o.session(ctx, roleARN)
	if err != nil {
		return Model{}, err
	}
	obj, err := o.Objects.HeadObject(ctx, u.Bucket, u.Key)
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND {
		return Model{}, errNoObject(u)
	} else if err != nil {
		return Model{}, fmt.Errorf("look up model: %w", err)
	}
	if caller.TenantID != "" && obj.Tenant != caller.TenantID {
		// A tenant's execution role never reads another tenant's object,
		// whatever its policies say, and the reason (an endpoint's
		// FailureReason, which the tenant reads) must not tell that
		// object from a missing one.
		return Model{}, errNoObject(u)
	}
	var bucketPolicy *iam.Policy
	if doc, err := o.Objects.GetBucketPolicy(ctx, u.Bucket); err == nil && doc != "" {
		if bucketPolicy, err = o.Policies.Parse(doc, iam.KindResource); err != nil {
			return Model{}, fmt.Errorf("bucket policy of %s: %w", u.Bucket, err)
		}
	}
	objARN := arn.New("s3", "", "", u.Bucket+"/"+u.Key).String()
	if err := o.allow(ctx, caller, "s3:GetObject", authz.Resource{ARN: objARN, Tenant: obj.Tenant, Policy: bucketPolicy}); err != nil {
		return Model{}, err
	}
	keyRes, err := o.keyResource(ctx, obj)
	if err != nil {
		return Model{}, err
	}
	if err := o.allow(ctx, caller, "kms:Decrypt", keyRes); err != nil {
		return Model{}, err
	}
	bucket, key := u.Bucket, u.Key
	return Model{Size: obj.Size, Tenant: obj.Tenant, Opener: serving.OpenerFunc(func(ctx context.Context) (io.ReadCloser, error) {
		r, err := o.Objects.GetObject(ctx, bucket, key, nil)
		if err != nil {
			return nil, err
		}
		return r, nil
	})}, nil
}

// errNoObject is the answer for an object that does not exist, or that a
// tenant may not learn exists.
func errNoObject(u serving.S3URL) error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "no object s3://%s/%s", u.Bucket, u.Key)
}

// session is the principal of a session of the execution role, as the
// serving platform assumes it.
func (o *ObjectSource) session(ctx context.Context, roleARN string) (*authn.Principal, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.AccountID != o.AccountID {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "execution role %s is not a role of this account", roleARN)
	}
	name := authz.RoleName(roleARN)
	role, err := o.Identity.GetRole(ctx, o.AccountID, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "execution role %s does not exist", roleARN)
	}
	if err != nil {
		return nil, fmt.Errorf("look up execution role: %w", err)
	}
	tags := map[string]string{}
	for k, v := range role.Tags {
		tags[k] = v
	}
	if role.TenantID != "" {
		tags[tenant.TagKey] = role.TenantID
	}
	return &authn.Principal{Type: authn.AssumedRole, Account: o.AccountID, ARN: "arn:aws:sts::" + o.AccountID + ":assumed-role/" + role.Name + "/SageMaker",
		UserID: role.ID + ":SageMaker", TenantID: role.TenantID, Tags: tags, PermissionsBoundaryARN: role.PermissionsBoundary,
		Session: &authn.Session{RoleARN: role.ARN, RoleID: role.ID, Name: "SageMaker"}}, nil
}

// keyResource is the key encrypting obj as kms:Decrypt is decided on
// (authz.KeyResource: its ARN, tenant, tags and key policy).
func (o *ObjectSource) keyResource(ctx context.Context, obj *artifact.Object) (authz.Resource, error) {
	return authz.KeyResource(ctx, o.Keys, o.Policies, obj.Tenant, obj.KeyARN)
}

// allow refuses, with a reason fit for an endpoint's FailureReason, what
// the role may not do.
func (o *ObjectSource) allow(ctx context.Context, caller *authn.Principal, action string, res authz.Resource) error {
	d, err := o.Authz.Authorize(ctx, &authz.Request{Caller: caller, Action: action, Resource: res})
	if err != nil {
		return err
	}
	if !d.Allowed() {
		return tenantml.Errorf(tenantml.EFORBIDDEN, "the execution role %s is not allowed %s on %s", caller.Session.RoleARN, action, res.ARN)
	}
	return nil
}
