package sts

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
)

// KeySize is the size of a token key: AES-256.
const KeySize = 32

// KeyRing holds the versioned token keys. Tokens are sealed with the primary
// key and opened with whichever key their header names.
type KeyRing struct {
	primary uint32
	aeads   map[uint32]cipher.AEAD
}

// NewKeyRing returns a key ring over keys (key ID → 32 random bytes) sealing
// with keys[primary]. The caller keeps the key bytes secret; the ring copies
// nothing but the derived ciphers.
func NewKeyRing(primary uint32, keys map[uint32][]byte) (*KeyRing, error) {
	if _, ok := keys[primary]; !ok {
		return nil, fmt.Errorf("new key ring: primary key %d not in ring", primary)
	}
	kr := &KeyRing{primary: primary, aeads: make(map[uint32]cipher.AEAD, len(keys))}
	for id, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("new key ring: key %d is %d bytes, want %d", id, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("new key ring: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("new key ring: %w", err)
		}
		kr.aeads[id] = aead
	}
	return kr, nil
}

// Primary returns the ID of the key new tokens are sealed with.
func (kr *KeyRing) Primary() uint32 { return kr.primary }

var errNoKey = errors.New("token key not in ring")

func (kr *KeyRing) aead(id uint32) (cipher.AEAD, error) {
	a, ok := kr.aeads[id]
	if !ok {
		return nil, errNoKey
	}
	return a, nil
}
