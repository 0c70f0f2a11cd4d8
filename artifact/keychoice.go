package artifact

import (
	"strings"

	"github.com/tenantml/tenantml"
)

// PlatformTenant is the keys-service tenant that holds the platform's own
// keys: the key of objects that platform callers (the account root,
// platform roles: principals without a TenantID) write into platform
// buckets. No customer can be called "platform" (tenant.ValidateID
// reserves it), so its keys never mix with a tenant's.
const PlatformTenant = "platform"

// KeyRef names the KMS key that wraps an object's data key and the tenant
// that owns that key — and so owns the object.
type KeyRef struct {
	Tenant string `json:"tenant"`
	KeyID  string `json:"keyId"` // key ID, key ARN, alias name or alias ARN of Tenant
}

// IsZero reports an unset KeyRef.
func (k KeyRef) IsZero() bool { return k.Tenant == "" && k.KeyID == "" }

func (k KeyRef) validate() error {
	if k.Tenant == "" || k.KeyID == "" {
		return tenantml.Errorf(tenantml.EINVALID, "the key's tenant and key ID are required")
	}
	return nil
}

// KeyChoice is what decides an object's key.
type KeyChoice struct {
	// Requested is the key the request names (x-amz-server-side-encryption-aws-kms-key-id),
	// resolved by the caller to its owning tenant; zero when absent.
	Requested KeyRef
	// Bucket is the destination bucket (its default encryption and owner).
	Bucket *Bucket
	// CallerTenant is the caller's TenantID; "" for a platform caller.
	CallerTenant string
}

// ChooseKey applies the key rule of S3 writes, first match wins:
//
//  1. the key the request names;
//  2. the bucket's default encryption key;
//  3. the caller's tenant's default key (DefaultKeyAlias);
//  4. for a platform caller: the bucket tenant's default key in a tenant's
//     bucket, the platform's (PlatformTenant's DefaultKeyAlias) in a
//     platform bucket.
//
// It is pure: whether the caller may use the chosen key (kms:GenerateDataKey
// on it, by its key policy and IAM) is for the caller to decide.
func ChooseKey(c KeyChoice) (KeyRef, error) {
	switch {
	case !c.Requested.IsZero():
		return c.Requested, c.Requested.validate()
	case c.Bucket != nil && c.Bucket.Encryption != nil:
		return *c.Bucket.Encryption, c.Bucket.Encryption.validate()
	case c.CallerTenant != "":
		return KeyRef{Tenant: c.CallerTenant, KeyID: DefaultKeyAlias}, nil
	case c.Bucket != nil && c.Bucket.Tenant != "":
		return KeyRef{Tenant: c.Bucket.Tenant, KeyID: DefaultKeyAlias}, nil
	default:
		return KeyRef{Tenant: PlatformTenant, KeyID: DefaultKeyAlias}, nil
	}
}

// isPlatformDefault reports the platform's default key, which the store
// creates on first use.
func (k KeyRef) isPlatformDefault() bool {
	return k.Tenant == PlatformTenant && strings.EqualFold(k.KeyID, DefaultKeyAlias)
}
