package main

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store"
)

// rootSecretName is where the sealed root credentials live in the store.
const rootSecretName = "root-credentials"

// rootCredentialsAAD binds the sealed root credentials to their purpose.
var rootCredentialsAAD = []byte("tenantml:root-credentials:v1")

type rootCredentials struct {
	AccessKeyID string
	Secret      []byte
}

type sealedRoot struct {
	AccessKeyID  string `json:"accessKeyId"`
	SealedSecret []byte `json:"sealedSecret"`
}

// bootstrapRoot returns the operator's root credentials. On first start it
// takes them from the configuration or generates them, stores the secret
// sealed under the master key and reports created=true so the caller can
// print a generated secret once. Later starts unseal the stored value; a
// configured key that differs from the stored one is refused.
func bootstrapRoot(ctx context.Context, sec store.Secrets, kek keys.KEK, cfg *config, rand io.Reader) (creds *rootCredentials, generated bool, err error) {
	stored, err := sec.GetSecret(ctx, rootSecretName)
	switch {
	case err == nil:
		creds, err := unsealRoot(ctx, kek, stored)
		if err != nil {
			return nil, false, err
		}
		if cfg.RootAccessKeyID != "" && (cfg.RootAccessKeyID != creds.AccessKeyID || !api.SecretEqual([]byte(cfg.RootSecretKey), creds.Secret)) {
			return nil, false, fmt.Errorf("root credentials are already initialised in this data directory and differ from TENANTML_ROOT_ACCESS_KEY_ID/TENANTML_ROOT_SECRET_ACCESS_KEY")
		}
		return creds, false, nil
	case tenantml.ErrorCode(err) != tenantml.ENOTFOUND:
		return nil, false, fmt.Errorf("read root credentials: %w", err)
	}
	creds = &rootCredentials{AccessKeyID: cfg.RootAccessKeyID, Secret: []byte(cfg.RootSecretKey)}
	if creds.AccessKeyID == "" {
		generated = true
		if creds.AccessKeyID, creds.Secret, err = newAccessKey(rand); err != nil {
			return nil, false, err
		}
	}
	sealed, err := kek.EncryptWithContext(ctx, creds.Secret, rootCredentialsAAD)
	if err != nil {
		return nil, false, fmt.Errorf("seal root credentials: %w", err)
	}
	blob, err := json.Marshal(sealedRoot{AccessKeyID: creds.AccessKeyID, SealedSecret: sealed})
	if err != nil {
		return nil, false, fmt.Errorf("encode root credentials: %w", err)
	}
	stored2, err := sec.PutSecretIfAbsent(ctx, rootSecretName, blob)
	if err != nil {
		return nil, false, fmt.Errorf("store root credentials: %w", err)
	}
	if !stored2 { // another server initialised the store at the same moment
		return bootstrapRoot(ctx, sec, kek, cfg, rand)
	}
	return creds, generated, nil
}

func unsealRoot(ctx context.Context, kek keys.KEK, blob []byte) (*rootCredentials, error) {
	var s sealedRoot
	if err := json.Unmarshal(blob, &s); err != nil {
		return nil, fmt.Errorf("decode root credentials: %w", err)
	}
	secret, err := kek.DecryptWithContext(ctx, s.SealedSecret, rootCredentialsAAD)
	if err != nil {
		return nil, fmt.Errorf("unseal root credentials (is this the master key of this data directory?): %w", err)
	}
	return &rootCredentials{AccessKeyID: s.AccessKeyID, Secret: secret}, nil
}

// newAccessKey returns an AWS-shaped long-term access key: "AKIA" and 16
// base32 characters, and a 40-character secret.
func newAccessKey(rand io.Reader) (id string, secret []byte, err error) {
	var b [40]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", nil, fmt.Errorf("generate access key: %w", err)
	}
	id = "AKIA" + base32.StdEncoding.EncodeToString(b[:10])
	secret = []byte(base64.RawStdEncoding.EncodeToString(b[10:40]))
	return id, secret, nil
}
