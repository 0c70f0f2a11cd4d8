package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/tenant"
)

// sealContextKey is the encryption-context key under which the audit log's
// associated data is bound to the sealed personal fields.
const sealContextKey = "tenantml:audit"

// withheldMarker is stored instead of a ciphertext when the tenant has no
// usable key (the tenant is unknown, pending deletion or erased): the
// personal fields are then not kept at all, and reads report them erased.
// It is not a valid keys ciphertext blob, so it can never decrypt.
var withheldMarker = []byte("tenantml.audit/withheld")

// errWithheld is Open's answer for a withheldMarker.
var errWithheld = errors.New("personal fields were not kept: the tenant had no usable key")

// auditSealer implements audit.FieldSealer with the keys service: the
// personal fields of a tenant's events are encrypted under the tenant's
// artifact key (artifact.DefaultKeyAlias), the audit log's associated data
// bound as encryption context. Erasing the tenant (destroying its keys)
// therefore crypto-shreds those fields, while the log's hashes still verify.
//
// Seal never fails a request because the tenant cannot have a key: when the
// tenant does not exist, or its keys are disabled, pending deletion or
// destroyed, it returns withheldMarker instead, so the fields are dropped
// rather than stored in clear. It creates the artifact key (EnsureKey) only
// for a tenant that exists and is not pending deletion, so requests naming
// unknown tenants never create keys. Any other error (store unreachable)
// fails the append, and the request fails closed.
type auditSealer struct {
	keys    *keys.Service
	tenants interface {
		FindTenant(ctx context.Context, id string) (*tenant.Tenant, error)
	}
}

// Seal encrypts plaintext under tenantID's artifact key with aad bound.
func (a *auditSealer) Seal(ctx context.Context, tenantID string, plaintext, aad []byte) ([]byte, error) {
	in := keys.EncryptInput{KeyID: artifact.DefaultKeyAlias, Plaintext: plaintext, EncryptionContext: map[string]string{sealContextKey: string(aad)}}
	out, err := a.keys.Encrypt(ctx, tenantID, in)
	switch keys.ExceptionOf(err) {
	case "":
		if err != nil {
			return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
		}
		return out.CiphertextBlob, nil
	case keys.ExcDisabled, keys.ExcInvalidState:
		return withheldMarker, nil
	case keys.ExcNotFound:
	default:
		return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
	}
	t, err := a.tenants.FindTenant(ctx, tenantID)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return withheldMarker, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find tenant %s: %w", tenantID, err)
	}
	if t.Status == tenant.PendingDeletion {
		return withheldMarker, nil
	}
	if _, err := a.keys.EnsureKey(ctx, tenantID, artifact.DefaultKeyAlias, "tenantml artifact key of tenant "+tenantID); err != nil {
		return nil, fmt.Errorf("create artifact key: %w", err)
	}
	if out, err = a.keys.Encrypt(ctx, tenantID, in); err != nil {
		return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
	}
	return out.CiphertextBlob, nil
}

// Open decrypts what Seal returned; it fails once the tenant's key is
// destroyed (or pending deletion), and always for withheldMarker.
func (a *auditSealer) Open(ctx context.Context, tenantID string, ciphertext, aad []byte) ([]byte, error) {
	if bytes.Equal(ciphertext, withheldMarker) {
		return nil, errWithheld
	}
	out, err := a.keys.Decrypt(ctx, tenantID, keys.DecryptInput{CiphertextBlob: ciphertext, EncryptionContext: map[string]string{sealContextKey: string(aad)}})
	if err != nil {
		return nil, fmt.Errorf("open sealed fields: %w", err)
	}
	return out.Plaintext, nil
}
