package keys

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"sort"

	"github.com/google/uuid"
)

// Limits on cryptographic requests (AWS KMS's).
const (
	MaxPlaintextSize   = 4096
	MaxDataKeyBytes    = 1024
	maxContextSize     = 8192
	blobFormat         = 1
	blobHeaderSize     = 1 + 16 + 4
	maxCiphertextBytes = 6144
)

// Data key specs for GenerateDataKey.
const (
	DataKeySpecAES256 = "AES_256"
	DataKeySpecAES128 = "AES_128"
)

// CanonicalContext returns the canonical encoding of an encryption context:
// the pairs sorted by key, each key and value preceded by its length as a
// big-endian uint32. Two contexts are equal exactly when their canonical
// encodings are.
func CanonicalContext(ec map[string]string) []byte {
	names := make([]string, 0, len(ec))
	for k := range ec {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, k := range names {
		writeLP(&b, k)
		writeLP(&b, ec[k])
	}
	return b.Bytes()
}

func validateContext(ec map[string]string) error {
	n := 0
	for k, v := range ec {
		if k == "" {
			return kmsErr(ExcValidation, "encryption context keys must not be empty")
		}
		n += len(k) + len(v)
	}
	if n > maxContextSize {
		return kmsErr(ExcValidation, "encryption context exceeds %d bytes", maxContextSize)
	}
	return nil
}

// blobAD binds a ciphertext to the tenant, key, version and context.
func blobAD(tenant, id string, version uint32, ec map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString("tenantml/keys/blob/v1")
	writeLP(&b, tenant)
	writeLP(&b, id)
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], version)
	b.Write(v[:])
	b.Write(CanonicalContext(ec))
	return b.Bytes()
}

// parseBlob splits a ciphertext blob into key ID, version and Tink
// ciphertext.
func parseBlob(blob []byte) (string, uint32, []byte, error) {
	if len(blob) <= blobHeaderSize || len(blob) > maxCiphertextBytes || blob[0] != blobFormat {
		return "", 0, nil, kmsErr(ExcInvalidCiphertext, "ciphertext blob is malformed")
	}
	id, err := uuid.FromBytes(blob[1:17])
	if err != nil {
		return "", 0, nil, kmsErr(ExcInvalidCiphertext, "ciphertext blob is malformed")
	}
	return id.String(), binary.BigEndian.Uint32(blob[17:21]), blob[blobHeaderSize:], nil
}

// BlobKeyID returns the key ID and key version a ciphertext blob names,
// without decrypting it.
func BlobKeyID(blob []byte) (keyID string, version int, err error) {
	id, v, _, err := parseBlob(blob)
	return id, int(v), err
}

func usable(l *loaded) error {
	switch l.doc.Meta.KeyState {
	case StateEnabled:
		return nil
	case StateDisabled:
		return kmsErr(ExcDisabled, "key %s is disabled", l.doc.Meta.Arn)
	default:
		return kmsErr(ExcInvalidState, "key %s is %s", l.doc.Meta.Arn, l.doc.Meta.KeyState)
	}
}

// encrypt encrypts under the primary version of a loaded, usable key.
func (s *Service) encrypt(ctx context.Context, l *loaded, pt []byte, ec map[string]string) ([]byte, error) {
	if err := usable(l); err != nil {
		return nil, err
	}
	a, err := s.primitive(ctx, l)
	if err != nil {
		return nil, err
	}
	version := uint32(l.doc.Meta.CurrentVersion)
	ct, err := a.Encrypt(pt, blobAD(l.rec.Tenant, l.rec.ID, version, ec))
	if err != nil {
		return nil, internalErr("encrypt", err)
	}
	u := uuid.MustParse(l.rec.ID)
	blob := make([]byte, blobHeaderSize, blobHeaderSize+len(ct))
	blob[0] = blobFormat
	copy(blob[1:17], u[:])
	binary.BigEndian.PutUint32(blob[17:21], version)
	return append(blob, ct...), nil
}

// EncryptInput is Encrypt's request.
type EncryptInput struct {
	KeyID             string
	Plaintext         []byte // at most MaxPlaintextSize bytes
	EncryptionContext map[string]string
}

// EncryptOutput is Encrypt's answer.
type EncryptOutput struct {
	CiphertextBlob []byte
	KeyID          string // key ARN
	KeyVersion     int
}

// Encrypt encrypts up to 4 KiB under the primary version of a key.
func (s *Service) Encrypt(ctx context.Context, tenant string, in EncryptInput) (*EncryptOutput, error) {
	if len(in.Plaintext) == 0 || len(in.Plaintext) > MaxPlaintextSize {
		return nil, kmsErr(ExcValidation, "plaintext must be 1-%d bytes", MaxPlaintextSize)
	}
	if err := validateContext(in.EncryptionContext); err != nil {
		return nil, err
	}
	l, err := s.load(ctx, tenant, in.KeyID)
	if err != nil {
		return nil, err
	}
	blob, err := s.encrypt(ctx, l, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &EncryptOutput{CiphertextBlob: blob, KeyID: l.doc.Meta.Arn, KeyVersion: l.doc.Meta.CurrentVersion}, nil
}

// DecryptInput is Decrypt's request.
type DecryptInput struct {
	CiphertextBlob    []byte
	EncryptionContext map[string]string
	// KeyID, if set, must name the key the blob was encrypted under.
	KeyID string
}

// DecryptOutput is Decrypt's answer.
type DecryptOutput struct {
	Plaintext  []byte
	KeyID      string // key ARN
	KeyVersion int
}

// Decrypt decrypts a blob made by Encrypt, GenerateDataKey or ReEncrypt
// under one of tenant's keys, with exactly the encryption context given at
// encryption. A blob of another tenant's key is NotFoundException.
func (s *Service) Decrypt(ctx context.Context, tenant string, in DecryptInput) (*DecryptOutput, error) {
	pt, l, v, err := s.decrypt(ctx, tenant, in.CiphertextBlob, in.EncryptionContext, in.KeyID)
	if err != nil {
		return nil, err
	}
	return &DecryptOutput{Plaintext: pt, KeyID: l.doc.Meta.Arn, KeyVersion: int(v)}, nil
}

func (s *Service) decrypt(ctx context.Context, tenant string, blob []byte, ec map[string]string, keyID string) ([]byte, *loaded, uint32, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, nil, 0, err
	}
	id, version, ct, err := parseBlob(blob)
	if err != nil {
		return nil, nil, 0, err
	}
	acct := "" // the ciphertext names its key, in whichever account
	if keyID != "" {
		want, wantAcct, err := s.resolveID(ctx, tenant, keyID)
		if err != nil {
			return nil, nil, 0, err
		}
		if want != id {
			return nil, nil, 0, kmsErr(ExcIncorrectKey, "the ciphertext was not encrypted under key %s", keyID)
		}
		acct = wantAcct
	}
	ident := id
	if keyID != "" {
		ident = keyID
	}
	l, err := s.loadID(ctx, tenant, id, acct, ident)
	if err != nil {
		return nil, nil, 0, err
	}
	if err := usable(l); err != nil {
		return nil, nil, 0, err
	}
	if _, ok := l.doc.version(int(version)); !ok {
		return nil, nil, 0, kmsErr(ExcInvalidCiphertext, "ciphertext blob is malformed")
	}
	a, err := s.primitive(ctx, l)
	if err != nil {
		return nil, nil, 0, err
	}
	pt, err := a.Decrypt(ct, blobAD(tenant, id, version, ec))
	if err != nil {
		return nil, nil, 0, kmsErr(ExcInvalidCiphertext, "ciphertext or encryption context does not match")
	}
	return pt, l, version, nil
}

// ReEncryptInput is ReEncrypt's request.
type ReEncryptInput struct {
	CiphertextBlob               []byte
	SourceEncryptionContext      map[string]string
	SourceKeyID                  string // optional, as DecryptInput.KeyID
	DestinationKeyID             string
	DestinationEncryptionContext map[string]string
}

// ReEncryptOutput is ReEncrypt's answer.
type ReEncryptOutput struct {
	CiphertextBlob   []byte
	SourceKeyID      string // source key ARN
	SourceKeyVersion int
	KeyID            string // destination key ARN
	KeyVersion       int
}

// ReEncrypt decrypts a blob and encrypts its plaintext under the primary
// version of the destination key (which may be the same key: that is how
// data keys move to a rotated key's new version) without returning the
// plaintext.
func (s *Service) ReEncrypt(ctx context.Context, tenant string, in ReEncryptInput) (*ReEncryptOutput, error) {
	if err := validateContext(in.DestinationEncryptionContext); err != nil {
		return nil, err
	}
	dst, err := s.load(ctx, tenant, in.DestinationKeyID)
	if err != nil {
		return nil, err
	}
	pt, src, v, err := s.decrypt(ctx, tenant, in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyID)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	blob, err := s.encrypt(ctx, dst, pt, in.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	return &ReEncryptOutput{
		CiphertextBlob: blob, SourceKeyID: src.doc.Meta.Arn, SourceKeyVersion: int(v),
		KeyID: dst.doc.Meta.Arn, KeyVersion: dst.doc.Meta.CurrentVersion,
	}, nil
}

// GenerateDataKeyInput is GenerateDataKey's request. Exactly one of KeySpec
// and NumberOfBytes must be set.
type GenerateDataKeyInput struct {
	KeyID             string
	EncryptionContext map[string]string
	KeySpec           string // AES_256 or AES_128
	NumberOfBytes     int    // 1..MaxDataKeyBytes
}

// GenerateDataKeyOutput is GenerateDataKey's answer.
type GenerateDataKeyOutput struct {
	CiphertextBlob []byte
	Plaintext      []byte // nil from GenerateDataKeyWithoutPlaintext
	KeyID          string // key ARN
	KeyVersion     int
}

// GenerateDataKey returns a fresh random data key from Config.Rand, in
// plaintext and encrypted under the key.
func (s *Service) GenerateDataKey(ctx context.Context, tenant string, in GenerateDataKeyInput) (*GenerateDataKeyOutput, error) {
	n := in.NumberOfBytes
	switch {
	case in.KeySpec != "" && n != 0:
		return nil, kmsErr(ExcValidation, "specify KeySpec or NumberOfBytes, not both")
	case in.KeySpec == DataKeySpecAES256:
		n = 32
	case in.KeySpec == DataKeySpecAES128:
		n = 16
	case in.KeySpec != "":
		return nil, kmsErr(ExcValidation, "KeySpec must be AES_256 or AES_128")
	case n < 1 || n > MaxDataKeyBytes:
		return nil, kmsErr(ExcValidation, "NumberOfBytes must be 1-%d", MaxDataKeyBytes)
	}
	if err := validateContext(in.EncryptionContext); err != nil {
		return nil, err
	}
	l, err := s.load(ctx, tenant, in.KeyID)
	if err != nil {
		return nil, err
	}
	if err := usable(l); err != nil {
		return nil, err
	}
	pt := make([]byte, n)
	if _, err := io.ReadFull(s.rand, pt); err != nil {
		return nil, internalErr("generate data key", err)
	}
	blob, err := s.encrypt(ctx, l, pt, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &GenerateDataKeyOutput{CiphertextBlob: blob, Plaintext: pt, KeyID: l.doc.Meta.Arn, KeyVersion: l.doc.Meta.CurrentVersion}, nil
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey returning only the
// encrypted data key.
func (s *Service) GenerateDataKeyWithoutPlaintext(ctx context.Context, tenant string, in GenerateDataKeyInput) (*GenerateDataKeyOutput, error) {
	out, err := s.GenerateDataKey(ctx, tenant, in)
	if err != nil {
		return nil, err
	}
	clear(out.Plaintext)
	out.Plaintext = nil
	return out, nil
}
