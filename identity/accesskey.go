package identity

import (
	"context"
	"fmt"
	"io"
)

// Sealer seals secrets under the platform's key-encryption key, bound to
// associated data; keys.KEK implements it.
type Sealer interface {
	EncryptWithContext(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	DecryptWithContext(ctx context.Context, ciphertext, aad []byte) ([]byte, error)
}

// SecretLen is the length of a long-term secret access key, as AWS's.
const SecretLen = 40

// secretAlphabet is the base64 alphabet AWS secrets are drawn from.
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// keyIDAlphabet is the alphabet of access key IDs after "AKIA".
const keyIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// NewAccessKey draws an AKIA key ID (20 characters) and a 40-character
// secret from rand, without modulo bias (both alphabets are powers of two).
func NewAccessKey(rand io.Reader) (id, secret string, err error) {
	buf := make([]byte, 16+SecretLen)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return "", "", fmt.Errorf("generate access key: %w", err)
	}
	idb := []byte("AKIA")
	for _, b := range buf[:16] {
		idb = append(idb, keyIDAlphabet[int(b)%len(keyIDAlphabet)])
	}
	sb := make([]byte, SecretLen)
	for i, b := range buf[16:] {
		sb[i] = secretAlphabet[int(b)%len(secretAlphabet)]
	}
	return string(idb), string(sb), nil
}

// SecretAAD is the associated data binding a sealed secret access key to its
// key ID, so a sealed secret copied onto another key's row does not open.
func SecretAAD(keyID string) []byte {
	return []byte("tenantml:iam-access-key:v1:" + keyID)
}

// SealSecret encrypts secret under s for keyID.
func SealSecret(ctx context.Context, s Sealer, keyID, secret string) ([]byte, error) {
	sealed, err := s.EncryptWithContext(ctx, []byte(secret), SecretAAD(keyID))
	if err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	return sealed, nil
}

// OpenSecret decrypts a sealed secret of keyID.
func OpenSecret(ctx context.Context, s Sealer, keyID string, sealed []byte) (string, error) {
	plain, err := s.DecryptWithContext(ctx, sealed, SecretAAD(keyID))
	if err != nil {
		return "", fmt.Errorf("unseal secret: %w", err)
	}
	return string(plain), nil
}
