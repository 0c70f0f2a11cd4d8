package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
)

// Streaming AEAD parameters: Tink's AES256_GCM_HKDF_1MB template.
const (
	algorithm   = "AES256_GCM_HKDF_1MB"
	segmentSize = 1 << 20
	dekSize     = 32
	formatV2    = "tenantml-object/v2"
)

// bodyRef is one encrypted body of an object: the whole plaintext of a
// single PUT, or one part of a multipart upload.
type bodyRef struct {
	ID             string `json:"id"`
	Part           int    `json:"part,omitempty"`
	Size           int64  `json:"size"`
	CiphertextSize int64  `json:"ciphertextSize"`
	SHA256         string `json:"sha256"`
	MD5            string `json:"md5"`
}

// objectDoc is an object's manifest, the ObjectRecord's Doc.
type objectDoc struct {
	Format     string `json:"format"`
	Algorithm  string `json:"algorithm"`
	WrappedKey []byte `json:"wrappedKey"`
	KeyARN     string `json:"keyArn"`
	KeyVersion int    `json:"keyVersion"`
	// ObjectID is the body ID of a single PUT or the upload ID of a
	// multipart upload; it is in the data key's encryption context.
	ObjectID string `json:"objectId"`
	// Multipart marks an object completed from parts; its digest is
	// PartsDigest, not SHA256.
	Multipart   bool              `json:"multipart,omitempty"`
	SHA256      string            `json:"sha256,omitempty"`
	Bodies      []bodyRef         `json:"bodies"`
	ContentType string            `json:"contentType,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Tags        []Tag             `json:"tags,omitempty"`
}

// uploadDoc is a multipart upload's UploadRecord Doc: the data key every
// part is encrypted under (wrapped with the upload's context) and what the
// completed object will carry.
type uploadDoc struct {
	WrappedKey  []byte            `json:"wrappedKey"`
	KeyARN      string            `json:"keyArn"`
	KeyVersion  int               `json:"keyVersion"`
	ContentType string            `json:"contentType,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Tags        []Tag             `json:"tags,omitempty"`
}

// partDoc is a part's PartRecord Doc.
type partDoc struct {
	CiphertextSize int64  `json:"ciphertextSize"`
	SHA256         string `json:"sha256"`
}

// bucketDoc is a bucket's BucketRecord Doc.
type bucketDoc struct {
	Policy     string  `json:"policy,omitempty"`
	Encryption *KeyRef `json:"encryption,omitempty"`
	Tags       []Tag   `json:"tags,omitempty"`
}

var (
	hexID  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hexMD5 = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func decodeObjectDoc(b []byte) (*objectDoc, error) {
	var d objectDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%w: decode manifest: %w", ErrIntegrity, err)
	}
	if d.Format != formatV2 || d.Algorithm != algorithm {
		return nil, fmt.Errorf("%w: unsupported manifest format %q/%q", ErrIntegrity, d.Format, d.Algorithm)
	}
	if len(d.Bodies) == 0 || len(d.Bodies) > MaxParts || (!d.Multipart && len(d.Bodies) != 1) {
		return nil, fmt.Errorf("%w: manifest lists %d bodies", ErrIntegrity, len(d.Bodies))
	}
	for _, b := range d.Bodies {
		// Body IDs name blobs: only the exact form the store writes.
		if !hexID.MatchString(b.ID) || b.Size < 0 || !hex256.MatchString(b.SHA256) || !hexMD5.MatchString(b.MD5) {
			return nil, fmt.Errorf("%w: manifest body is malformed", ErrIntegrity)
		}
		if (layout{segment: segmentSize, size: b.Size}).ciphertextSize() != b.CiphertextSize {
			return nil, fmt.Errorf("%w: body ciphertext size %d does not fit plaintext size %d", ErrIntegrity, b.CiphertextSize, b.Size)
		}
	}
	if !d.Multipart && d.SHA256 != d.Bodies[0].SHA256 {
		return nil, fmt.Errorf("%w: manifest digest is malformed", ErrIntegrity)
	}
	return &d, nil
}

// size is the object's plaintext size.
func (d *objectDoc) size() int64 {
	var n int64
	for _, b := range d.Bodies {
		n += b.Size
	}
	return n
}

// bodyPath is where a body of tenant in bucket lives. Keys never appear in
// blob paths: an object's bodies are named by random IDs under its
// owner's and its bucket's directory, so no key can address a path outside
// them, and tenants/<tenant>/ holds everything a tenant owns.
func bodyPath(tenant, bucket, id string) string {
	return tenantPrefix(tenant) + "bodies/" + bucket + "/" + id
}

func tenantPrefix(tenant string) string { return "tenants/" + tenant + "/" }

// bodyAD is a body's streaming AEAD associated data: it binds the body to
// its owner, bucket, key and ID, each length-prefixed.
func bodyAD(tenant, bucket, key, id string) []byte {
	var b bytes.Buffer
	b.WriteString(formatV2)
	for _, s := range []string{tenant, bucket, key, id} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		b.Write(n[:])
		b.WriteString(s)
	}
	return b.Bytes()
}

// writeContext is the KMS encryption context of a data key while its
// object is being written: owner, bucket, key and object ID.
func writeContext(tenant, bucket, key, objectID string) map[string]string {
	return map[string]string{
		"tenantml:tenant": tenant, "tenantml:bucket": bucket,
		"tenantml:key": key, "tenantml:object": objectID,
	}
}

// commitContext is the encryption context of a committed object's data
// key: the write context plus the plaintext size and the digest (of the
// plaintext for a single body, of the body list for multipart), so that a
// manifest whose size, digest or bodies were altered no longer unwraps its
// data key.
func commitContext(tenant, bucket, key string, d *objectDoc) map[string]string {
	ec := writeContext(tenant, bucket, key, d.ObjectID)
	ec["tenantml:size"] = strconv.FormatInt(d.size(), 10)
	if d.Multipart {
		ec["tenantml:parts"] = partsDigest(d.Bodies)
	} else {
		ec["tenantml:sha256"] = d.SHA256
	}
	return ec
}

// partsDigest is the hex SHA-256 of a multipart object's body list in
// order: part number, body ID, sizes and digests of each.
func partsDigest(bodies []bodyRef) string {
	h := sha256.New()
	for _, b := range bodies {
		fmt.Fprintf(h, "%d|%s|%d|%d|%s|%s\n", b.Part, b.ID, b.Size, b.CiphertextSize, b.SHA256, b.MD5)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func newStreamCipher(dek []byte) (*subtle.AESGCMHKDF, error) {
	if len(dek) != dekSize {
		return nil, fmt.Errorf("data key is %d bytes, want %d", len(dek), dekSize)
	}
	return subtle.NewAESGCMHKDF(dek, "SHA256", dekSize, segmentSize, 0)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // only plain structs are encoded
	}
	return b
}
