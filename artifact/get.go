package artifact

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// ErrIntegrity reports an artifact whose bytes do not authenticate: a
// tampered or truncated body, or a plaintext whose size or SHA-256 differs
// from the manifest's. Test with errors.Is.
var ErrIntegrity = errors.New("artifact integrity check failed")

func (s *Store) readManifest(ctx context.Context, rf ref) (*manifest, error) {
	r, err := s.bucket.NewReader(ctx, rf.manifestPath(), nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, notFound()
	}
	if err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("%w: manifest exceeds %d bytes", ErrIntegrity, maxManifest)
	}
	m, err := decodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIntegrity, err)
	}
	if err := m.check(rf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIntegrity, err)
	}
	return m, nil
}

// Stat returns the artifact's description without reading its body.
func (s *Store) Stat(ctx context.Context, tenant, key, version string) (*Info, error) {
	rf, err := s.ref(tenant, key, version)
	if err != nil {
		return nil, err
	}
	m, err := s.readManifest(ctx, rf)
	if err != nil {
		return nil, err
	}
	return m.info(), nil
}

// Get opens the artifact for streaming decryption. The reader opens 1 MiB
// segments on several cores, serves them in order and authenticates each
// one before serving it; it returns an error wrapping ErrIntegrity instead
// of io.EOF if any segment, the end of the stream or (with
// Config.RehashOnRead) the SHA-256 does not match, so only a reader drained
// to io.EOF has delivered the artifact. Close it even after an error.
func (s *Store) Get(ctx context.Context, tenant, key, version string) (io.ReadCloser, *Info, error) {
	rf, err := s.ref(tenant, key, version)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.readManifest(ctx, rf)
	if err != nil {
		return nil, nil, err
	}
	dk, err := s.cfg.Keys.Decrypt(ctx, tenant, keys.DecryptInput{CiphertextBlob: m.WrappedKey, EncryptionContext: rf.commitContext(m.Size, m.SHA256)})
	if err != nil {
		return nil, nil, fmt.Errorf("unwrap data key: %w", err)
	}
	want, err := hex.DecodeString(m.SHA256)
	if err != nil {
		clear(dk.Plaintext)
		return nil, nil, fmt.Errorf("%w: manifest digest: %w", ErrIntegrity, err)
	}
	lay := layout{segment: segmentSize, size: m.Size}
	if lay.ciphertextSize() != m.CiphertextSize {
		clear(dk.Plaintext)
		return nil, nil, fmt.Errorf("%w: manifest ciphertext size %d does not fit plaintext size %d", ErrIntegrity, m.CiphertextSize, m.Size)
	}
	// A file body (fileblob) offers random access: then the decryption
	// workers read their own segments in parallel.
	var file *os.File
	br, err := s.bucket.NewReader(ctx, m.Body, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		as(&file)
		return nil
	}})
	if gcerrors.Code(err) == gcerrors.NotFound {
		clear(dk.Plaintext)
		return nil, nil, notFound()
	}
	if err != nil {
		clear(dk.Plaintext)
		return nil, nil, fmt.Errorf("open artifact body: %w", err)
	}
	dr, err := newDecryptingReader(br, dk.Plaintext, streamAD(rf.tenant, rf.key, rf.version), lay,
		decryptOptions{at: readerAt(file), workers: s.decryptWorkers(), rehash: s.cfg.RehashOnRead, want: want})
	clear(dk.Plaintext)
	if err != nil {
		br.Close()
		return nil, nil, err
	}
	return dr, m.info(), nil
}

// readerAt is f as an io.ReaderAt, or nil when there is no file.
func readerAt(f *os.File) io.ReaderAt {
	if f == nil {
		return nil
	}
	return f
}

// decryptWorkers is Config.DecryptWorkers or, by default, one per
// available core up to maxDecryptWorkers.
func (s *Store) decryptWorkers() int {
	if s.cfg.DecryptWorkers > 0 {
		return s.cfg.DecryptWorkers
	}
	return min(runtime.GOMAXPROCS(0), maxDecryptWorkers)
}

// Delete removes an artifact: its manifest first (so it disappears at
// once), then its bodies.
func (s *Store) Delete(ctx context.Context, tenant, key, version string) error {
	rf, err := s.ref(tenant, key, version)
	if err != nil {
		return err
	}
	if err := s.bucket.Delete(ctx, rf.manifestPath()); err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return notFound()
		}
		return fmt.Errorf("delete manifest: %w", err)
	}
	if _, err := s.deletePrefix(ctx, rf.bodyDir()); err != nil {
		return err
	}
	return nil
}

// List describes the tenant's artifacts whose layout path under
// tenants/<tenant>/models/ ("<model-name>/<version>/<file>") starts with
// prefix.
func (s *Store) List(ctx context.Context, tenant, prefix string) ([]*Info, error) {
	var out []*Info
	err := s.eachManifest(ctx, tenant, prefix, func(rf ref, m *manifest) error {
		out = append(out, m.info())
		return nil
	})
	return out, err
}

// eachManifest calls fn for every artifact of tenant under prefix.
func (s *Store) eachManifest(ctx context.Context, tenant, prefix string, fn func(ref, *manifest) error) error {
	if err := s.checkTenant(tenant); err != nil {
		return err
	}
	base := tenantPrefix(tenant) + "models/"
	it := s.bucket.List(&blob.ListOptions{Prefix: base + prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list artifacts: %w", err)
		}
		if obj.IsDir {
			continue
		}
		rel := obj.Key[len(base):]
		rf, ok := refFromLayout(tenant, rel)
		if !ok {
			continue
		}
		m, err := s.readManifest(ctx, rf)
		if err != nil {
			if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
				continue // deleted meanwhile
			}
			return err
		}
		if err := fn(rf, m); err != nil {
			return err
		}
	}
}

// refFromLayout parses "<name>/<version>/<file>".
func refFromLayout(tenant, rel string) (ref, bool) {
	name, rest, ok := strings.Cut(rel, "/")
	if !ok {
		return ref{}, false
	}
	version, file, ok := strings.Cut(rest, "/")
	if !ok {
		return ref{}, false
	}
	rf, err := newRef(tenant, name+"/"+file, version)
	return rf, err == nil
}

func (s *Store) deletePrefix(ctx context.Context, prefix string) (int, error) {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	n := 0
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("list %s: %w", prefix, err)
		}
		if obj.IsDir {
			continue
		}
		if err := s.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, fmt.Errorf("delete %s: %w", obj.Key, err)
		}
		n++
	}
}

// DeleteTenant deletes every blob of tenant (manifests and bodies) and
// returns how many it deleted. Run it after the tenant's keys are destroyed:
// the bodies are already undecryptable; this reclaims the space.
func (s *Store) DeleteTenant(ctx context.Context, tenant string) (int, error) {
	if err := s.checkTenant(tenant); err != nil {
		return 0, err
	}
	return s.deletePrefix(ctx, tenantPrefix(tenant))
}
