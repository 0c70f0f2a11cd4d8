package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/sts"
)

// stsKeysSecretName is the platform secret holding the session-token key
// ring.
const stsKeysSecretName = "sts-token-keys"

// stsKeyRing is the persisted form of the session-token key ring.
type stsKeyRing struct {
	Primary uint32            `json:"primary"`
	Keys    map[uint32][]byte `json:"keys"`
}

// bootstrapSTSKeys loads the session-token key ring, a platform secret
// created with a first 32-byte key on first start, so that every gateway
// over the same store opens every other's tokens.
func bootstrapSTSKeys(ctx context.Context, sec keys.SecretStore, kek keys.KEK, rnd io.Reader) (*sts.KeyRing, error) {
	plain, _, err := keys.PlatformSecret(ctx, sec, kek, stsKeysSecretName, func() ([]byte, error) {
		ring := stsKeyRing{Primary: 1, Keys: map[uint32][]byte{1: make([]byte, 32)}}
		if _, err := io.ReadFull(rnd, ring.Keys[1]); err != nil {
			return nil, fmt.Errorf("generate session token key: %w", err)
		}
		return json.Marshal(ring)
	})
	if err != nil {
		return nil, err
	}
	var ring stsKeyRing
	if err := json.Unmarshal(plain, &ring); err != nil {
		return nil, fmt.Errorf("decode session token keys: %w", err)
	}
	return sts.NewKeyRing(ring.Primary, ring.Keys)
}
