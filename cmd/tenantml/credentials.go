package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	apiiam "github.com/tenantml/tenantml/api/iam"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/sts"
)

// credentialSource resolves the access key of a SigV4 request: temporary
// (ASIA) keys by opening their session token, the operator's root key, and
// (once IAM users exist) users' long-term keys from the store.
type credentialSource struct {
	root     *rootCredentials
	account  string
	sessions *sts.Source
	// users and kek resolve IAM users' long-term keys; nil users rejects
	// every key but root's.
	users identity.Service
	kek   keys.KEK
}

var (
	_ authn.CredentialSource = (*credentialSource)(nil)
	_ sts.RevocationChecker  = (*credentialSource)(nil)
)

// Credential implements authn.CredentialSource.
func (c *credentialSource) Credential(ctx context.Context, accessKeyID, sessionToken string) (*authn.Credential, error) {
	if sessionToken != "" || strings.HasPrefix(accessKeyID, "ASIA") {
		src := c.sessions
		if c.users != nil && src.Revocations == nil {
			withRevocations := *src
			withRevocations.Revocations = c
			src = &withRevocations
		}
		return src.Credential(ctx, accessKeyID, sessionToken)
	}
	if subtle.ConstantTimeCompare([]byte(accessKeyID), []byte(c.root.AccessKeyID)) == 1 {
		return &authn.Credential{
			AccessKeyID: accessKeyID,
			Secret:      string(c.root.Secret),
			Principal:   &authn.Principal{Type: authn.Root, ARN: "arn:aws:iam::" + c.account + ":root", Account: c.account, UserID: c.account},
		}, nil
	}
	if c.users != nil && strings.HasPrefix(accessKeyID, "AKIA") {
		return c.userCredential(ctx, accessKeyID)
	}
	return nil, errInvalidKey()
}

// RevokedBefore implements sts.RevocationChecker from the role's
// SessionsRevokedBefore. A role that no longer exists revokes nothing here:
// its sessions are denied by the authorizer, which finds no policies.
func (c *credentialSource) RevokedBefore(ctx context.Context, roleARN string) (time.Time, error) {
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	r, err := c.users.GetRole(ctx, c.account, name)
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

func errInvalidKey() error {
	return authn.Errorf(authn.CodeInvalidClientTokenID, "The security token included in the request is invalid.")
}

// userCredential resolves an IAM user's active long-term key: the sealed
// secret is opened with the master key bound to apiiam.SecretAAD(keyID).
// Unknown, malformed and inactive keys are InvalidClientTokenId; a store failure is
// internal (fails closed) rather than a credential error.
func (c *credentialSource) userCredential(ctx context.Context, keyID string) (*authn.Credential, error) {
	k, err := c.users.GetAccessKey(ctx, keyID)
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND || code == tenantml.EINVALID {
		return nil, errInvalidKey()
	}
	if err != nil {
		return nil, fmt.Errorf("look up access key: %w", err)
	}
	if k.Status != identity.Active || k.AccountID != c.account {
		return nil, errInvalidKey()
	}
	secret, err := apiiam.OpenSecret(ctx, c.kek, keyID, k.SealedSecret)
	if err != nil {
		return nil, fmt.Errorf("access key %s: %w", keyID, err)
	}
	u, err := c.users.GetUser(ctx, k.AccountID, k.UserName)
	if err != nil {
		return nil, fmt.Errorf("look up access key owner: %w", err)
	}
	return &authn.Credential{
		AccessKeyID: keyID,
		Secret:      secret,
		Principal: &authn.Principal{
			Type: authn.IAMUser, ARN: u.ARN, UserID: u.ID, UserName: u.Name, Account: u.AccountID,
			TenantID: u.TenantID, Tags: u.Tags, PermissionsBoundaryARN: u.PermissionsBoundary,
		},
	}, nil
}

// stsKeysSecretName is where the sealed session-token key ring lives.
const stsKeysSecretName = "sts-token-keys"

var stsKeysAAD = []byte("tenantml:sts-token-keys:v1")

// stsKeyRing is the persisted form of the session-token key ring.
type stsKeyRing struct {
	Primary uint32            `json:"primary"`
	Keys    map[uint32][]byte `json:"keys"`
}

// bootstrapSTSKeys loads the session-token key ring, creating a first
// 32-byte key on first start. The ring is stored sealed under the master key
// so that every gateway over the same store opens every other's tokens.
func bootstrapSTSKeys(ctx context.Context, sec store.Secrets, kek keys.KEK, rand io.Reader) (*sts.KeyRing, error) {
	sealed, err := sec.GetSecret(ctx, stsKeysSecretName)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		if err := createSTSKeys(ctx, sec, kek, rand); err != nil {
			return nil, err
		}
		// Another gateway may have won the race: read back what is stored.
		sealed, err = sec.GetSecret(ctx, stsKeysSecretName)
	}
	if err != nil {
		return nil, fmt.Errorf("read session token keys: %w", err)
	}
	plain, err := kek.DecryptWithContext(ctx, sealed, stsKeysAAD)
	if err != nil {
		return nil, fmt.Errorf("unseal session token keys: %w", err)
	}
	var ring stsKeyRing
	if err := json.Unmarshal(plain, &ring); err != nil {
		return nil, fmt.Errorf("decode session token keys: %w", err)
	}
	return sts.NewKeyRing(ring.Primary, ring.Keys)
}

func createSTSKeys(ctx context.Context, sec store.Secrets, kek keys.KEK, rand io.Reader) error {
	ring := stsKeyRing{Primary: 1, Keys: map[uint32][]byte{1: make([]byte, 32)}}
	if _, err := io.ReadFull(rand, ring.Keys[1]); err != nil {
		return fmt.Errorf("generate session token key: %w", err)
	}
	plain, err := json.Marshal(ring)
	if err != nil {
		return fmt.Errorf("encode session token keys: %w", err)
	}
	sealed, err := kek.EncryptWithContext(ctx, plain, stsKeysAAD)
	if err != nil {
		return fmt.Errorf("seal session token keys: %w", err)
	}
	if _, err := sec.PutSecretIfAbsent(ctx, stsKeysSecretName, sealed); err != nil {
		return fmt.Errorf("store session token keys: %w", err)
	}
	return nil
}
