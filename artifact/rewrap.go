package artifact

import (
	"context"
	"fmt"

	"github.com/tenantml/tenantml/keys"
)

// RewrapReport tells what Rewrap did.
type RewrapReport struct {
	Rewrapped int // manifests whose data key moved to the key's current version
	Current   int // manifests already at the current version
}

// Rewrap moves the wrapped data key of every artifact of tenant under prefix
// (as for List) to the current version of its key, with ReEncrypt, and
// rewrites the manifest. Bodies are never read or rewritten. An artifact
// replaced while being rewrapped is left to the new upload.
func (s *Store) Rewrap(ctx context.Context, tenant, prefix string) (RewrapReport, error) {
	var rep RewrapReport
	err := s.eachManifest(ctx, tenant, prefix, func(rf ref, m *manifest) error {
		ec := rf.encryptionContext()
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
