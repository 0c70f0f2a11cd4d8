package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// KEK is a key-encryption key: it wraps and unwraps the Tink keysets that
// hold the tenants' key material. Its method set is tink.AEADWithContext, so
// any Tink AEAD with context (and, through AEADKEK, any tink.AEAD such as
// the AWS KMS, GCP KMS or Vault transit integrations) is a KEK.
type KEK interface {
	// EncryptWithContext wraps plaintext bound to associatedData.
	EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error)
	// DecryptWithContext unwraps ciphertext; it fails unless
	// associatedData is the one given at wrapping.
	DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)
}

var (
	_ KEK                  = (*LocalKEK)(nil)
	_ tink.AEADWithContext = KEK(nil)
)

// AEADKEK adapts a context-free tink.AEAD (for example the remote AEAD of
// tink-go-awskms, tink-go-gcpkms or tink-go-hcvault) to a KEK.
func AEADKEK(a tink.AEAD) KEK { return aeadKEK{a} }

type aeadKEK struct{ a tink.AEAD }

func (k aeadKEK) EncryptWithContext(_ context.Context, pt, ad []byte) ([]byte, error) {
	return k.a.Encrypt(pt, ad)
}

func (k aeadKEK) DecryptWithContext(_ context.Context, ct, ad []byte) ([]byte, error) {
	return k.a.Decrypt(ct, ad)
}

// MasterKeySize is the size in bytes of a local master key.
const MasterKeySize = 32

// LocalKEK is the embedded default KEK: AES-256-GCM (Tink's subtle AEAD)
// under a 32-byte master key kept in a local file readable by its owner only.
type LocalKEK struct {
	aead tink.AEAD
}

// OpenLocalKEK loads the master key file at path, creating it with
// MasterKeySize bytes from rand and mode 0600 if it does not exist. It
// refuses a file that is readable or writable by group or others, or that is
// not exactly MasterKeySize bytes long.
func OpenLocalKEK(path string, rand io.Reader) (*LocalKEK, error) {
	key, err := readMasterKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createMasterKey(path, rand)
	}
	if err != nil {
		return nil, err
	}
	a, err := subtle.NewAESGCM(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &LocalKEK{aead: a}, nil
}

func readMasterKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open master key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat master key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key %s: mode %04o gives group or others access; run chmod 600", path, perm)
	}
	if fi.Size() != MasterKeySize {
		return nil, fmt.Errorf("master key %s: %d bytes, want %d", path, fi.Size(), MasterKeySize)
	}
	key := make([]byte, MasterKeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	return key, nil
}

// createMasterKey writes a fresh key to a temporary file and links it into
// place, so a crash never leaves a partial key at path and two processes
// racing to create it end up sharing one key.
func createMasterKey(path string, rand io.Reader) ([]byte, error) {
	key := make([]byte, MasterKeySize)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create master key dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("chmod master key: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("sync master key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("close master key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readMasterKey(path)
		}
		return nil, fmt.Errorf("install master key: %w", err)
	}
	return key, nil
}

// EncryptWithContext implements KEK.
func (k *LocalKEK) EncryptWithContext(_ context.Context, pt, ad []byte) ([]byte, error) {
	return k.aead.Encrypt(pt, ad)
}

// DecryptWithContext implements KEK.
func (k *LocalKEK) DecryptWithContext(_ context.Context, ct, ad []byte) ([]byte, error) {
	return k.aead.Decrypt(ct, ad)
}
