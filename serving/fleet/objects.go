package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// like every request, the tenant boundary included, across accounts when
// the bucket's or the key's account is not the role's, and from the
// network path the context carries (authz.NetworkOf: aws:SourceVpce).
type ObjectSource struct {
	// AccountID is the primary account (execution roles are looked up in
	// the account their ARN names).
	AccountID string
	Objects   *artifact.Store
	Keys      *keys.Service
	Identity  identity.Service
	Authz     authz.Authorizer
	// Policies parses bucket and key policies; *authz.Engine implements it.
	Policies authz.Parser
}

var _ ModelSource = (*ObjectSource)(nil)

// Describe returns the object u names and the resource s3:GetObject on
// it is decided on (its ARN, owning tenant and bucket policy). A missing
// object or bucket is ENOTFOUND.
func (o *ObjectSource) Describe(ctx context.Context, u serving.S3URL) (*artifact.Object, authz.Resource, error) {
	obj, err := o.Objects.HeadObject(ctx, u.Bucket, u.Key)
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND {
		return nil, authz.Resource{}, errNoObject(u)
	} else if err != nil {
		return nil, authz.Resource{}, fmt.Errorf("look up model: %w", err)
	}
	var bucketPolicy *iam.Policy
	if doc, err := o.Objects.GetBucketPolicy(ctx, u.Bucket); err == nil && doc != "" {
		if bucketPolicy, err = o.Policies.Parse(doc, iam.KindResource); err != nil {
			return nil, authz.Resource{}, fmt.Errorf("bucket policy of %s: %w", u.Bucket, err)
		}
	}
	bucket, err := o.Objects.GetBucket(ctx, u.Bucket)
	if err != nil {
		return nil, authz.Resource{}, fmt.Errorf("look up bucket: %w", err)
	}
	objARN := arn.New("s3", "", "", u.Bucket+"/"+u.Key).String()
	return obj, authz.Resource{ARN: objARN, Tenant: obj.Tenant, Policy: bucketPolicy, Account: bucket.Account}, nil
}

// Digest reads the plaintext of the object u names and returns its hex
// SHA-256 and size: for objects whose store records no SHA-256 (multipart
// uploads). Every segment is authenticated as it is read.
func (o *ObjectSource) Digest(ctx context.Context, u serving.S3URL) (string, int64, error) {
	r, err := o.Objects.GetObject(ctx, u.Bucket, u.Key, nil)
	if err != nil {
		return "", 0, fmt.Errorf("read model: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, fmt.Errorf("read model: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Object implements ModelSource.
func (o *ObjectSource) Object(ctx context.Context, roleARN string, u serving.S3URL) (Model, error) {
	caller, err := o.session(ctx, roleARN)
	if err != nil {
		return Model{}, err
	}
	obj, res, err := o.Describe(ctx, u)
	if err != nil {
		return Model{}, err
	}
	if caller.TenantID != "" && obj.Tenant != caller.TenantID {
		// A tenant's execution role never reads another tenant's object,
		// whatever its policies say, and the reason (an endpoint's
		// FailureReason, which the tenant reads) must not tell that
		// object from a missing one.
		return Model{}, errNoObject(u)
	}
	// The bucket's account owns the object (Describe): a role of another
	// account reads it only if the bucket policy grants it and its own
	// policies allow (decided across accounts).
	if err := o.allow(ctx, caller, "s3:GetObject", res); err != nil {
		return Model{}, err
	}
	keyRes, err := o.KeyResource(ctx, obj)
	if err != nil {
		return Model{}, err
	}
	if err := o.allow(ctx, caller, "kms:Decrypt", keyRes); err != nil {
		return Model{}, err
	}
	bucket, key := u.Bucket, u.Key
	return Model{Size: obj.Size, Tenant: obj.Tenant, SHA256: obj.SHA256, Opener: serving.OpenerFunc(func(ctx context.Context) (io.ReadCloser, error) {
		// The *artifact.ObjectReader itself: it describes the version it
		// reads, which a pinned model checks (pin.go).
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
	if err != nil || identity.ValidateAccount(a.AccountID) != nil {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "execution role %s is not a role of this account", roleARN)
	}
	name := authz.RoleName(roleARN)
	role, err := o.Identity.GetRole(ctx, a.AccountID, name)
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
	return &authn.Principal{Type: authn.AssumedRole, Account: role.AccountID, ARN: "arn:aws:sts::" + role.AccountID + ":assumed-role/" + role.Name + "/SageMaker",
		UserID: role.ID + ":SageMaker", TenantID: role.TenantID, Tags: tags, PermissionsBoundaryARN: role.PermissionsBoundary,
		Session: &authn.Session{RoleARN: role.ARN, RoleID: role.ID, Name: "SageMaker"}}, nil
}

// KeyResource is the key encrypting obj as kms:Decrypt is decided on
// (authz.KeyResource: its ARN, tenant, tags and key policy).
func (o *ObjectSource) KeyResource(ctx context.Context, obj *artifact.Object) (authz.Resource, error) {
	return authz.KeyResource(ctx, o.Keys, o.Policies, obj.Tenant, obj.KeyARN)
}

// allow refuses, with a reason fit for an endpoint's FailureReason, what
// the role may not do.
func (o *ObjectSource) allow(ctx context.Context, caller *authn.Principal, action string, res authz.Resource) error {
	n := authz.NetworkOf(ctx)
	d, err := o.Authz.Authorize(ctx, &authz.Request{Caller: caller, Action: action, Resource: res,
		Origin: authz.Origin{VPCEndpoint: n.VPCEndpoint, VPC: n.VPC}})
	if err != nil {
		return err
	}
	if !d.Allowed() {
		return tenantml.Errorf(tenantml.EFORBIDDEN, "the execution role %s is not allowed %s on %s", caller.Session.RoleARN, action, res.ARN)
	}
	return nil
}
