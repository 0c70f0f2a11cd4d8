package artifact

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
)

// Streaming AEAD parameters: Tink's AES256_GCM_HKDF_1MB template.
const (
	algorithm   = "AES256_GCM_HKDF_1MB"
	segmentSize = 1 << 20
	dekSize     = 32
	formatV1    = "tenantml-artifact/v1"
	maxManifest = 64 << 10
)

// manifest is the JSON document stored at an artifact's path.
type manifest struct {
	Format         string    `json:"format"`
	Tenant         string    `json:"tenant"`
	Key            string    `json:"key"`
	Version        string    `json:"version"`
	UploadID       string    `json:"upload_id"`
	Body           string    `json:"body"`
	Algorithm      string    `json:"algorithm"`
	WrappedKey     []byte    `json:"wrapped_key"`
	KeyARN         string    `json:"key_arn"`
	KeyVersion     int       `json:"key_version"`
	Size           int64     `json:"size"`
	CiphertextSize int64     `json:"ciphertext_size"`
	SHA256         string    `json:"sha256"`
	Created        time.Time `json:"created"`
}

func (m *manifest) info() *Info {
	return &Info{Tenant: m.Tenant, Key: m.Key, Version: m.Version, Size: m.Size, SHA256: m.SHA256,
		Created: m.Created, KeyARN: m.KeyARN, KeyVersion: m.KeyVersion, UploadID: m.UploadID}
}

func decodeManifest(b []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if m.Format != formatV1 || m.Algorithm != algorithm {
		return nil, fmt.Errorf("decode manifest: unsupported format %q/%q", m.Format, m.Algorithm)
	}
	return &m, nil
}

// check verifies that a manifest describes the artifact at r: a manifest
// copied to another tenant's, key's or version's path is refused here, and
// its body must live in r's own blob directory.
func (m *manifest) check(r ref) error {
	if m.Tenant != r.tenant || m.Key != r.key || m.Version != r.version {
		return fmt.Errorf("manifest names %s/%s@%s, not the artifact at its path", m.Tenant, m.Key, m.Version)
	}
	if m.Body != r.bodyDir()+m.UploadID || strings.Contains(m.UploadID, "/") || m.UploadID == "" {
		return fmt.Errorf("manifest body %q is outside the artifact", m.Body)
	}
	if m.Size < 0 || m.CiphertextSize < 0 || len(m.SHA256) != 64 {
		return fmt.Errorf("manifest size or digest is malformed")
	}
	return nil
}

// streamAD is the streaming AEAD's associated data: tenant, key and
// version, each length-prefixed.
func streamAD(tenant, key, version string) []byte {
	var b bytes.Buffer
	b.WriteString(formatV1)
	for _, s := range []string{tenant, key, version} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		b.Write(n[:])
		b.WriteString(s)
	}
	return b.Bytes()
}

func newStreamCipher(dek []byte) (*subtle.AESGCMHKDF, error) {
	if len(dek) != dekSize {
		return nil, fmt.Errorf("data key is %d bytes, want %d", len(dek), dekSize)
	}
	return subtle.NewAESGCMHKDF(dek, "SHA256", dekSize, segmentSize, 0)
}
