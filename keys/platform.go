package keys

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantml/tenantml"
)

// SecretStore keeps the platform's sealed secrets by name; the metadata
// store implements it (store.Secrets).
type SecretStore interface {
	// GetSecret returns the value stored under name, or ENOTFOUND.
	GetSecret(ctx context.Context, name string) ([]byte, error)
	// PutSecretIfAbsent stores value under name unless a value already
	// exists; it reports whether it stored.
	PutSecretIfAbsent(ctx context.Context, name string, value []byte) (bool, error)
}

// PlatformSecretAAD is the associated data that binds the sealed platform
// secret name to its name.
func PlatformSecretAAD(name string) []byte {
	return []byte("tenantml:" + name + ":v1")
}

// PlatformSecret returns the platform secret name (the root credentials,
// the session-token key ring, the audit page-token key, ...), sealed in st
// under kek and bound to its name. On first use it calls create, seals and
// stores its value and reports created; when several gateways race, every
// one of them returns the value that was stored first. The value is never
// stored or returned unsealed anywhere else.
func PlatformSecret(ctx context.Context, st SecretStore, kek KEK, name string, create func() ([]byte, error)) (value []byte, created bool, err error) {
	aad := PlatformSecretAAD(name)
	for range 2 {
		sealed, err := st.GetSecret(ctx, name)
		if err == nil {
			plain, err := kek.DecryptWithContext(ctx, sealed, aad)
			if err != nil {
				return nil, false, fmt.Errorf("unseal %s (is this the master key of this data directory?): %w", strings.ReplaceAll(name, "-", " "), err)
			}
			return plain, false, nil
		}
		if tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			return nil, false, fmt.Errorf("read %s: %w", name, err)
		}
		plain, err := create()
		if err != nil {
			return nil, false, fmt.Errorf("create %s: %w", name, err)
		}
		sealed, err = kek.EncryptWithContext(ctx, plain, aad)
		if err != nil {
			return nil, false, fmt.Errorf("seal %s: %w", name, err)
		}
		stored, err := st.PutSecretIfAbsent(ctx, name, sealed)
		if err != nil {
			return nil, false, fmt.Errorf("store %s: %w", name, err)
		}
		if stored {
			return plain, true, nil
		}
		// Another gateway stored it first: read back what is stored.
	}
	return nil, false, fmt.Errorf("store %s: lost the race twice", name)
}
