package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/keys"
)

// RootKey is the access key of an account's root user.
type RootKey struct {
	AccessKeyID string
	// Secret is the secret access key; never logged.
	Secret []byte `json:"-"`
}

// rootSecretName is the platform secret holding the operator's root key.
const rootSecretName = "root-credentials"

// rootRecord is the sealed form of a RootKey.
type rootRecord struct {
	AccessKeyID string `json:"accessKeyId"`
	Secret      string `json:"secret"`
}

// legacyRootRecord is how the root key was stored before it became a
// platform secret: the key ID in the clear and only the secret sealed.
type legacyRootRecord struct {
	AccessKeyID  string `json:"accessKeyId"`
	SealedSecret []byte `json:"sealedSecret"`
}

// BootstrapRoot returns the operator's root key, a platform secret
// (keys.PlatformSecret). On first start it takes configured when its
// AccessKeyID is set, else generates one, and reports generated so that
// the caller prints a generated secret once. Later starts open the stored
// key; a configured key that differs from it is refused.
func BootstrapRoot(ctx context.Context, st keys.SecretStore, kek keys.KEK, configured RootKey, rand io.Reader) (key RootKey, generated bool, err error) {
	if sealed, err := st.GetSecret(ctx, rootSecretName); err == nil {
		if k, ok, err := openLegacyRoot(ctx, kek, sealed); ok || err != nil {
			return checkConfigured(k, configured, err)
		}
	}
	plain, created, err := keys.PlatformSecret(ctx, st, kek, rootSecretName, func() ([]byte, error) {
		rec := rootRecord{AccessKeyID: configured.AccessKeyID, Secret: string(configured.Secret)}
		if rec.AccessKeyID == "" {
			generated = true
			if rec.AccessKeyID, rec.Secret, err = NewAccessKey(rand); err != nil {
				return nil, err
			}
		}
		return json.Marshal(rec)
	})
	if err != nil {
		return RootKey{}, false, err
	}
	var rec rootRecord
	if err := json.Unmarshal(plain, &rec); err != nil {
		return RootKey{}, false, fmt.Errorf("decode root credentials: %w", err)
	}
	key = RootKey{AccessKeyID: rec.AccessKeyID, Secret: []byte(rec.Secret)}
	if created {
		return key, generated, nil
	}
	return checkConfigured(key, configured, nil)
}

// openLegacyRoot opens a root key stored in the earlier format; ok is false
// for any other value.
func openLegacyRoot(ctx context.Context, kek keys.KEK, blob []byte) (RootKey, bool, error) {
	var rec legacyRootRecord
	if json.Unmarshal(blob, &rec) != nil || rec.AccessKeyID == "" || rec.SealedSecret == nil {
		return RootKey{}, false, nil
	}
	secret, err := kek.DecryptWithContext(ctx, rec.SealedSecret, keys.PlatformSecretAAD(rootSecretName))
	if err != nil {
		return RootKey{}, true, fmt.Errorf("unseal root credentials (is this the master key of this data directory?): %w", err)
	}
	return RootKey{AccessKeyID: rec.AccessKeyID, Secret: secret}, true, nil
}

func checkConfigured(stored, configured RootKey, err error) (RootKey, bool, error) {
	if err != nil {
		return RootKey{}, false, err
	}
	if configured.AccessKeyID != "" && (configured.AccessKeyID != stored.AccessKeyID || !SecretEqual(configured.Secret, stored.Secret)) {
		return RootKey{}, false, fmt.Errorf("root credentials are already initialised in this data directory and differ from the configured ones (TENANTML_ROOT_ACCESS_KEY_ID/TENANTML_ROOT_SECRET_ACCESS_KEY)")
	}
	return stored, false, nil
}

// SecretEqual compares two secrets in constant time (over SHA-256 digests,
// so that their lengths are not revealed either).
func SecretEqual(a, b []byte) bool {
	ha, hb := sha256.Sum256(a), sha256.Sum256(b)
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// Credentials resolves long-term access keys for request authentication:
// the operator's root key and IAM users' active keys, whose sealed secrets
// it opens with Sealer. It implements authn.CredentialSource for them
// (authn.Sources routes temporary keys to package sts) and
// sts.RevocationChecker from roles' SessionsRevokedBefore.
type Credentials struct {
	// Account is the primary account, whose root key is Root.
	Account string
	Root    RootKey
	Users   Service
	Sealer  Sealer
	// Accounts, when set, holds the deployment's further accounts: their
	// root keys authenticate as their roots, and their users' keys as
	// their users. Without it only the primary account's keys do.
	Accounts *Accounts
}

var _ authn.CredentialSource = (*Credentials)(nil)

func errInvalidKey() error {
	return authn.Errorf(authn.CodeInvalidClientTokenID, "The security token included in the request is invalid.")
}

// Credential implements authn.CredentialSource. Unknown, malformed and
// inactive keys are InvalidClientTokenId; a store failure is internal
// (fails closed) rather than a credential error.
func (c *Credentials) Credential(ctx context.Context, accessKeyID, _ string) (*authn.Credential, error) {
	if c.Root.AccessKeyID != "" && SecretEqual([]byte(accessKeyID), []byte(c.Root.AccessKeyID)) {
		return &authn.Credential{
			AccessKeyID: accessKeyID,
			Secret:      string(c.Root.Secret),
			Principal:   &authn.Principal{Type: authn.Root, ARN: arn.Root(c.Account), Account: c.Account, UserID: c.Account, AccessKeyID: accessKeyID},
		}, nil
	}
	if c.Users == nil || !strings.HasPrefix(accessKeyID, "AKIA") {
		return nil, errInvalidKey()
	}
	k, err := c.Users.GetAccessKey(ctx, accessKeyID)
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND || code == tenantml.EINVALID {
		return c.accountRoot(ctx, accessKeyID)
	}
	if err != nil {
		return nil, fmt.Errorf("look up access key: %w", err)
	}
	if k.Status != Active {
		return nil, errInvalidKey()
	}
	if k.AccountID != c.Account {
		if c.Accounts == nil {
			return nil, errInvalidKey()
		}
		_, err := c.Accounts.Get(ctx, k.AccountID)
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return nil, errInvalidKey()
		}
		if err != nil {
			return nil, fmt.Errorf("look up access key's account: %w", err)
		}
	}
	secret, err := OpenSecret(ctx, c.Sealer, accessKeyID, k.SealedSecret)
	if err != nil {
		return nil, fmt.Errorf("access key %s: %w", accessKeyID, err)
	}
	u, err := c.Users.GetUser(ctx, k.AccountID, k.UserName)
	if err != nil {
		return nil, fmt.Errorf("look up access key owner: %w", err)
	}
	return &authn.Credential{
		AccessKeyID: accessKeyID,
		Secret:      secret,
		Principal: &authn.Principal{
			Type: authn.IAMUser, ARN: u.ARN, UserID: u.ID, UserName: u.Name, Account: u.AccountID,
			TenantID: u.TenantID, Tags: u.Tags, PermissionsBoundaryARN: u.PermissionsBoundary,
		},
	}, nil
}

// accountRoot authenticates the root key of a further account.
func (c *Credentials) accountRoot(ctx context.Context, accessKeyID string) (*authn.Credential, error) {
	if c.Accounts == nil {
		return nil, errInvalidKey()
	}
	a, root, err := c.Accounts.Root(ctx, accessKeyID)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil, errInvalidKey()
	}
	if err != nil {
		return nil, fmt.Errorf("look up account root key: %w", err)
	}
	return &authn.Credential{
		AccessKeyID: accessKeyID,
		Secret:      string(root.Secret),
		Principal:   &authn.Principal{Type: authn.Root, ARN: arn.Root(a.ID), Account: a.ID, UserID: a.ID, AccessKeyID: accessKeyID},
	}, nil
}

// RevokedBefore reports the time before which the sessions of roleARN are
// revoked (zero for none). A role that no longer exists revokes nothing
// here: its sessions are denied by the authorizer, which finds no policies.
func (c *Credentials) RevokedBefore(ctx context.Context, roleARN string) (time.Time, error) {
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	acct := c.Account
	if a, err := arn.Parse(roleARN); err == nil && a.AccountID != "" {
		acct = a.AccountID // a role of a further account
	}
	r, err := c.Users.GetRole(ctx, acct, name)
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND || code == tenantml.EINVALID {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("look up role: %w", err)
	}
	if r.SessionsRevokedBefore == nil {
		return time.Time{}, nil
	}
	return *r.SessionsRevokedBefore, nil
}
