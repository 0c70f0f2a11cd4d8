package artifact

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
)

// tokenCodec seals listing continuation tokens: AES-256-GCM (Tink) under a
// key derived from the store's token secret, with the bucket as associated
// data. A token reveals nothing (not even the last key listed), cannot be
// forged or altered, and is refused in any other bucket's listing.
type tokenCodec struct {
	aead *subtle.AESGCM
}

// listPosition is where a listing resumes.
type listPosition struct {
	After string `json:"a"`           // list keys greater than this
	Skip  string `json:"s,omitempty"` // and skip those starting with this common prefix
}

const tokenInfo = "tenantml/artifact/list-token/v1"

func newTokenCodec(secret []byte) (*tokenCodec, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("token secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, tokenInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive token key: %w", err)
	}
	a, err := subtle.NewAESGCM(key)
	if err != nil {
		return nil, fmt.Errorf("token cipher: %w", err)
	}
	return &tokenCodec{aead: a}, nil
}

func tokenAD(bucket string) []byte { return []byte(tokenInfo + "\x00" + bucket) }

func (c *tokenCodec) seal(bucket string, p listPosition) (string, error) {
	ct, err := c.aead.Encrypt(mustJSON(p), tokenAD(bucket))
	if err != nil {
		return "", fmt.Errorf("seal token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(ct), nil
}

// open returns the position a token holds; InvalidArgument for anything
// that is not a token this store sealed for bucket.
func (c *tokenCodec) open(bucket, token string) (listPosition, error) {
	bad := s3Err(CodeInvalidArgument, "The continuation token provided is incorrect")
	ct, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(token) > 8<<10 {
		return listPosition{}, bad
	}
	pt, err := c.aead.Decrypt(ct, tokenAD(bucket))
	if err != nil {
		return listPosition{}, bad
	}
	var p listPosition
	if err := json.Unmarshal(pt, &p); err != nil {
		return listPosition{}, bad
	}
	return p, nil
}
