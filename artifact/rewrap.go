package artifact

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// RewrapReport tells what Rewrap did.
type RewrapReport struct {
	Rewrapped int `json:"rewrapped"` // manifests whose data key moved to the key's current version
	Current   int `json:"current"`   // manifests already at the current version
}

// Rewrap moves the wrapped data key of every artifact of tenant under prefix
// (as for List) to the current version of its key, with ReEncrypt, and
// rewrites the manifest. Bodies are never read or rewritten. An artifact
// replaced while being rewrapped is left to the new upload.
func (s *Store) Rewrap(ctx context.Context, tenant, prefix string) (RewrapReport, error) {
	var rep RewrapReport
	err := s.eachManifest(ctx, tenant, prefix, func(rf ref, m *manifest) error {
		ec := rf.commitContext(m.Size, m.SHA256)
		out, err := s.cfg.Keys.ReEncrypt(ctx, tenant, keys.ReEncryptInput{
			CiphertextBlob: m.WrappedKey, SourceEncryptionContext: ec,
			DestinationKeyID: m.KeyARN, DestinationEncryptionContext: ec,
		})
		if err != nil {
			return fmt.Errorf("rewrap %s@%s: %w", rf.key, rf.version, err)
		}
		if out.KeyVersion == m.KeyVersion && out.KeyID == m.KeyARN {
			rep.Current++
			return nil
		}
		// Re-read just before writing, so a concurrent upload's newer
		// manifest is not overwritten with this older body.
		cur, err := s.readManifest(ctx, rf)
		if err != nil || cur.UploadID != m.UploadID {
			return nil
		}
		m.WrappedKey, m.KeyARN, m.KeyVersion = out.CiphertextBlob, out.KeyID, out.KeyVersion
		if err := s.writeManifest(ctx, rf, m); err != nil {
			return err
		}
		rep.Rewrapped++
		return nil
	})
	return rep, err
}

// Sweep deletes the bodies of tenant's artifacts under prefix (as for List)
// that no manifest references and that are older than grace: the losers of
// concurrent uploads of one artifact, and bodies left by crashes between
// writing a body and its manifest. grace must exceed the longest time an
// upload can spend between finishing its body and writing its manifest
// (an hour is ample); Sweep returns the number of bodies deleted.
func (s *Store) Sweep(ctx context.Context, tenant, prefix string, grace time.Duration) (int, error) {
	if err := s.checkTenant(tenant); err != nil {
		return 0, err
	}
	cutoff := s.cfg.Now().Add(-grace)
	base := tenantPrefix(tenant) + "blobs/"
	it := s.bucket.List(&blob.ListOptions{Prefix: base + prefix})
	live := map[string]bool{} // manifest path -> checked; body -> referenced
	n := 0
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("list bodies: %w", err)
		}
		if obj.IsDir || !obj.ModTime.Before(cutoff) {
			continue
		}
		dir, _, ok := cutString(obj.Key[len(base):])
		if !ok {
			continue
		}
		rf, ok := refFromLayout(tenant, dir)
		if !ok {
			continue
		}
		if mp := rf.manifestPath(); !live[mp] {
			live[mp] = true
			if m, err := s.readManifest(ctx, rf); err == nil {
				live[m.Body] = true
			} else if tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				return n, err
			}
		}
		if live[obj.Key] {
			continue
		}
		if err := s.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, fmt.Errorf("delete %s: %w", obj.Key, err)
		}
		n++
	}
}

// cutString splits "dir/last" at its last slash.
func cutString(s string) (string, string, bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}
