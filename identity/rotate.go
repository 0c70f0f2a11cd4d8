package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// RotatableSecrets is a platform secret store that can also replace a
// stored value atomically.
type RotatableSecrets interface {
	keys.SecretStore
	// ReplaceSecret stores value under name if the stored value is still
	// old (compare and swap); it reports whether it replaced.
	ReplaceSecret(ctx context.Context, name string, old, value []byte) (bool, error)
}

// RotateRoot replaces the operator's root key stored in st: with configured
// when its AccessKeyID is set, else with a generated key (generated=true,
// so that the caller prints it once). The stored key must open with kek
// (rotating with another master key would store a key no server of this
// store could open), and st changes only if it still holds what was read.
// Without a stored root key nothing is written: rotation never initialises
// a store. Servers read the root key when they start; the old key works on
// each until it restarts.
func RotateRoot(ctx context.Context, st RotatableSecrets, kek keys.KEK, configured RootKey, rand io.Reader) (key RootKey, generated bool, err error) {
	old, err := st.GetSecret(ctx, rootSecretName)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return RootKey{}, false, errors.New("no root credentials in this store yet: tenantml serve makes them on its first start")
	}
	if err != nil {
		return RootKey{}, false, fmt.Errorf("read root credentials: %w", err)
	}
	current, err := openRoot(ctx, kek, old)
	if err != nil {
		return RootKey{}, false, err
	}
	key = configured
	if key.AccessKeyID == "" {
		generated = true
		id, secret, err := NewAccessKey(rand)
		if err != nil {
			return RootKey{}, false, err
		}
		key = RootKey{AccessKeyID: id, Secret: []byte(secret)}
	}
	if key.AccessKeyID == current.AccessKeyID && bytes.Equal(key.Secret, current.Secret) {
		return RootKey{}, false, errors.New("the configured root credentials are the current ones: nothing to rotate")
	}
	plain, err := json.Marshal(rootRecord{AccessKeyID: key.AccessKeyID, Secret: string(key.Secret)})
	if err != nil {
		return RootKey{}, false, fmt.Errorf("encode root credentials: %w", err)
	}
	sealed, err := kek.EncryptWithContext(ctx, plain, keys.PlatformSecretAAD(rootSecretName))
	if err != nil {
		return RootKey{}, false, fmt.Errorf("seal root credentials: %w", err)
	}
	replaced, err := st.ReplaceSecret(ctx, rootSecretName, old, sealed)
	if err != nil {
		return RootKey{}, false, fmt.Errorf("store root credentials: %w", err)
	}
	if !replaced {
		return RootKey{}, false, errors.New("the root credentials changed while rotating (another rotation?): nothing was written; run it again")
	}
	return key, generated, nil
}

// openRoot opens a stored root key in either format.
func openRoot(ctx context.Context, kek keys.KEK, sealed []byte) (RootKey, error) {
	if k, ok, err := openLegacyRoot(ctx, kek, sealed); ok || err != nil {
		return k, err
	}
	plain, err := kek.DecryptWithContext(ctx, sealed, keys.PlatformSecretAAD(rootSecretName))
	if err != nil {
		return RootKey{}, fmt.Errorf("unseal root credentials (is this the master key of this data directory?): %w", err)
	}
	var rec rootRecord
	if err := json.Unmarshal(plain, &rec); err != nil {
		return RootKey{}, fmt.Errorf("decode root credentials: %w", err)
	}
	return RootKey{AccessKeyID: rec.AccessKeyID, Secret: []byte(rec.Secret)}, nil
}
