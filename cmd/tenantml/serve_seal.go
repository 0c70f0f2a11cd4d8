package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/internal/ttlcache"
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
// bound. Erasing the tenant (destroying its keys) therefore crypto-shreds
// those fields, while the log's hashes still verify.
//
// Sealing is envelope encryption: the sealer keeps, per tenant, a data key
// generated under the tenant's artifact key (keys.GenerateDataKey) for at
// most dataKeyTTL and dataKeyUses events, and seals each event's fields
// with it locally (AES-256-GCM, the tenant and the associated data bound);
// the blob carries the wrapped data key (dataKeyMagic). So the key service
// (an alias and a key record read, the record's JSON decoded) is called once
// per tenant per minute instead of once per event. The data keys are
// dropped by invalidate, which the store calls after every write through
// this process (store.Watch): disabling, scheduling for deletion or
// destroying a key, and erasing a tenant, stop its data key at once here;
// another process's change is seen within dataKeyTTL. A data key wrapped by
// a destroyed key opens nothing: erasure still shreds every event.
// Blobs sealed before (a keys ciphertext of the fields themselves, the
// associated data as encryption context) still open.
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
	now func() time.Time // nil: time.Now

	once sync.Once
	deks *ttlcache.Cache[string, *dataKey] // by tenant ID
}

// Bounds of a tenant's audit data key.
const (
	dataKeyTTL     = time.Minute
	dataKeyUses    = 1 << 20 // far below AES-GCM's 2^32 random nonces per key
	dataKeyTenants = 4096    // data keys held at once
)

// dataKeyMagic starts a blob sealed with a data key: magic, the wrapped
// data key's length (2 bytes, big-endian), the wrapped data key (a keys
// ciphertext blob), the AES-GCM nonce (12 bytes), then the ciphertext and
// tag. A keys ciphertext blob starts with its format byte (1) and
// withheldMarker with "tenantml", so the three never collide.
var dataKeyMagic = []byte("TMLd")

// dataKeyContext is the encryption context a data key is wrapped under.
var dataKeyContext = map[string]string{sealContextKey: "data-key/v1"}

// dataKey is one tenant's data key: the AEAD and the key wrapped under
// the tenant's artifact key.
type dataKey struct {
	aead    cipher.AEAD
	wrapped []byte
	uses    atomic.Int64
}

func (a *auditSealer) cache() *ttlcache.Cache[string, *dataKey] {
	a.once.Do(func() { a.deks = ttlcache.New[string, *dataKey](dataKeyTTL, dataKeyTenants, a.now) })
	return a.deks
}

// invalidate drops every data key.
func (a *auditSealer) invalidate() { a.cache().Invalidate() }

// Seal encrypts plaintext for tenantID with aad bound.
func (a *auditSealer) Seal(ctx context.Context, tenantID string, plaintext, aad []byte) ([]byte, error) {
	dk, err := a.dataKey(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if dk == nil {
		return withheldMarker, nil
	}
	nonce := make([]byte, dk.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
	}
	out := make([]byte, 0, len(dataKeyMagic)+2+len(dk.wrapped)+len(nonce)+len(plaintext)+dk.aead.Overhead())
	out = append(out, dataKeyMagic...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(dk.wrapped)))
	out = append(append(out, dk.wrapped...), nonce...)
	return dk.aead.Seal(out, nonce, plaintext, dataKeyAD(tenantID, aad)), nil
}

// dataKeyAD binds a sealed blob to its tenant and the audit log's
// associated data.
func dataKeyAD(tenantID string, aad []byte) []byte {
	b := make([]byte, 0, 32+len(tenantID)+len(aad))
	b = append(b, "tenantml.audit/data-key/v1"...)
	b = binary.AppendUvarint(b, uint64(len(tenantID)))
	b = append(b, tenantID...)
	return append(b, aad...)
}

// dataKey returns tenantID's data key, generating one when none is held
// or the held one is used up; nil (and no error) when the tenant has no
// usable key, and the fields must be withheld.
func (a *auditSealer) dataKey(ctx context.Context, tenantID string) (*dataKey, error) {
	c := a.cache()
	if dk, ok := c.Get(tenantID); ok {
		if dk.uses.Add(1) <= dataKeyUses {
			return dk, nil
		}
		c.Delete(tenantID)
	}
	gen := c.Gen()
	in := keys.GenerateDataKeyInput{KeyID: artifact.DefaultKeyAlias, KeySpec: keys.DataKeySpecAES256, EncryptionContext: dataKeyContext}
	out, err := a.keys.GenerateDataKey(ctx, tenantID, in)
	switch keys.ExceptionOf(err) {
	case "":
		if err != nil {
			return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
		}
	case keys.ExcDisabled, keys.ExcInvalidState:
		return nil, nil
	case keys.ExcNotFound:
		if ok, err := a.ensureKey(ctx, tenantID); !ok || err != nil {
			return nil, err
		}
		if out, err = a.keys.GenerateDataKey(ctx, tenantID, in); err != nil {
			return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
		}
	default:
		return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
	}
	defer clear(out.Plaintext)
	block, err := aes.NewCipher(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal for tenant %s: %w", tenantID, err)
	}
	if len(out.CiphertextBlob) > 0xffff {
		return nil, fmt.Errorf("seal for tenant %s: wrapped data key of %d bytes", tenantID, len(out.CiphertextBlob))
	}
	dk := &dataKey{aead: gcm, wrapped: out.CiphertextBlob}
	dk.uses.Store(1)
	c.Put(tenantID, dk, gen)
	return dk, nil
}

// ensureKey creates tenantID's artifact key when the tenant exists and is
// not pending deletion; false means the fields are to be withheld.
func (a *auditSealer) ensureKey(ctx context.Context, tenantID string) (bool, error) {
	t, err := a.tenants.FindTenant(ctx, tenantID)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find tenant %s: %w", tenantID, err)
	}
	if t.Status == tenant.PendingDeletion {
		return false, nil
	}
	if _, err := a.keys.EnsureKey(ctx, tenantID, artifact.DefaultKeyAlias, "tenantml artifact key of tenant "+tenantID); err != nil {
		return false, fmt.Errorf("create artifact key: %w", err)
	}
	return true, nil
}

// Open decrypts what Seal returned; it fails once the tenant's key is
// destroyed (or pending deletion), and always for withheldMarker.
func (a *auditSealer) Open(ctx context.Context, tenantID string, ciphertext, aad []byte) ([]byte, error) {
	if bytes.Equal(ciphertext, withheldMarker) {
		return nil, errWithheld
	}
	if rest, ok := bytes.CutPrefix(ciphertext, dataKeyMagic); ok {
		return a.openWithDataKey(ctx, tenantID, rest, aad)
	}
	out, err := a.keys.Decrypt(ctx, tenantID, keys.DecryptInput{CiphertextBlob: ciphertext, EncryptionContext: map[string]string{sealContextKey: string(aad)}})
	if err != nil {
		return nil, fmt.Errorf("open sealed fields: %w", err)
	}
	return out.Plaintext, nil
}

// openWithDataKey opens a blob sealed with a data key (after its magic).
func (a *auditSealer) openWithDataKey(ctx context.Context, tenantID string, blob, aad []byte) ([]byte, error) {
	if len(blob) < 2 {
		return nil, errors.New("open sealed fields: truncated")
	}
	n := int(binary.BigEndian.Uint16(blob))
	blob = blob[2:]
	if len(blob) < n {
		return nil, errors.New("open sealed fields: truncated")
	}
	out, err := a.keys.Decrypt(ctx, tenantID, keys.DecryptInput{CiphertextBlob: blob[:n], EncryptionContext: dataKeyContext})
	if err != nil {
		return nil, fmt.Errorf("open sealed fields: %w", err)
	}
	defer clear(out.Plaintext)
	block, err := aes.NewCipher(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("open sealed fields: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("open sealed fields: %w", err)
	}
	blob = blob[n:]
	if len(blob) < gcm.NonceSize() {
		return nil, errors.New("open sealed fields: truncated")
	}
	pt, err := gcm.Open(nil, blob[:gcm.NonceSize()], blob[gcm.NonceSize():], dataKeyAD(tenantID, aad))
	if err != nil {
		return nil, fmt.Errorf("open sealed fields: %w", err)
	}
	return pt, nil
}
