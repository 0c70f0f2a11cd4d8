package sagemaker

import (
	"context"
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/serving"
)

// ModelData resolves the objects model packages pin; *fleet.ObjectSource
// implements it.
type ModelData interface {
	// Describe returns the object u names and the resource s3:GetObject
	// is decided on; ENOTFOUND when the object or its bucket is missing.
	Describe(ctx context.Context, u serving.S3URL) (*artifact.Object, authz.Resource, error)
	// KeyResource is the key encrypting obj as kms:Decrypt is decided on.
	KeyResource(ctx context.Context, obj *artifact.Object) (authz.Resource, error)
	// Digest reads the object's plaintext and returns its SHA-256 and
	// size.
	Digest(ctx context.Context, u serving.S3URL) (string, int64, error)
}

// pin is what a package records of the object a container names.
type pin struct {
	SHA256, ETag string
	Size         int64
}

// errNoModelData is the answer for model data that does not exist, or
// that the caller may not learn exists (another tenant's object).
func errNoModelData(u string) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "Could not find model data at %s.", truncate(u))
}

// pinModelData reads the digest of the object url names, as the caller
// may read it: s3:GetObject on the object (with its bucket's policy) and
// kms:Decrypt on its key (with the key's policy), decided by the IAM
// engine like any request. Another tenant's object (or the platform's, to
// a tenant's principal) is decided and answered as a missing one.
func (s *Surface) pinModelData(r *http.Request, c *authn.Principal, url string) (pin, error) {
	u, err := serving.ParseS3URL(url)
	if err != nil {
		return pin{}, err
	}
	obj, res, err := s.ModelData.Describe(r.Context(), u)
	missing := tenantml.ErrorCode(err) == tenantml.ENOTFOUND
	if err != nil && !missing {
		return pin{}, err
	}
	if missing {
		res = authz.Resource{ARN: arn.New("s3", "", "", u.Bucket+"/"+u.Key).String()}
	}
	d, hidden, err := s.Pipeline.Check(r, c, "s3:GetObject", res, nil)
	if err != nil {
		return pin{}, err
	}
	if !d.Allowed() {
		return pin{}, tenantml.AWSErrorf(tenantml.EFORBIDDEN, "AccessDeniedException", "User: %s is not authorized to perform: s3:GetObject on resource: %s", c.ARN, truncate(res.ARN))
	}
	if missing || hidden {
		return pin{}, errNoModelData(url)
	}
	key, err := s.ModelData.KeyResource(r.Context(), obj)
	if err != nil {
		return pin{}, err
	}
	d, _, err = s.Pipeline.Check(r, c, "kms:Decrypt", key, nil)
	if err != nil {
		return pin{}, err
	}
	if !d.Allowed() {
		return pin{}, tenantml.AWSErrorf(tenantml.EFORBIDDEN, "AccessDeniedException", "User: %s is not authorized to perform: kms:Decrypt on resource: %s", c.ARN, key.ARN)
	}
	p := pin{SHA256: obj.SHA256, Size: obj.Size, ETag: obj.ETag}
	if p.SHA256 == "" { // a multipart object: hash its plaintext once
		sum, n, err := s.ModelData.Digest(r.Context(), u)
		if err != nil {
			return pin{}, err
		}
		if n != obj.Size {
			return pin{}, tenantml.Errorf(tenantml.EUNAVAILABLE, "the object at %s changed while it was read; retry", truncate(url))
		}
		p.SHA256 = sum
	}
	return p, nil
}
