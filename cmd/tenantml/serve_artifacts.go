package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
)

// presignSecretName is where the sealed presigned-URL secret lives in the
// store.
const presignSecretName = "artifact-presign-secret"

// registerArtifacts adds the artifact API: uploads and downloads through an
// object pipeline whose SigV4 verifier accepts UNSIGNED-PAYLOAD (so that
// uploads stream instead of being buffered to be hashed; X-Tenantml-Sha256
// checks the content end to end) and which accepts presigned URLs; list,
// delete and presign through p unchanged.
func (s *server) registerArtifacts(ctx context.Context, srv *api.Server, p *api.Pipeline) error {
	secret, err := bootstrapPresignSecret(ctx, s.store.Secrets(), s.kek, s.rand)
	if err != nil {
		return err
	}
	presigner, err := artifact.NewPresigner(secret, s.now)
	clear(secret)
	if err != nil {
		return fmt.Errorf("artifact presigner: %w", err)
	}
	objects := streamingPipeline(p)
	(&manage.Artifacts{
		Tenants: s.store.Tenants(), Store: s.kp.artifacts, Presigner: presigner,
		Pipeline: p, ObjectPipeline: objects, MaxUploadBytes: s.cfg.MaxArtifactBytes,
		Region: s.cfg.Region, AccountID: s.cfg.AccountID, Credentials: s.credentials,
	}).Register(srv)
	return nil
}

// bootstrapPresignSecret returns the platform's presigned-URL secret, a
// platform secret of random bytes generated on first start, so that
// presigned URLs survive restarts and are shared by every gateway on the
// same store.
func bootstrapPresignSecret(ctx context.Context, sec keys.SecretStore, kek keys.KEK, rnd io.Reader) ([]byte, error) {
	secret, _, err := keys.PlatformSecret(ctx, sec, kek, presignSecretName, func() ([]byte, error) {
		b := make([]byte, artifact.MinPresignSecret)
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("generate presign secret: %w", err)
		}
		return b, nil
	})
	return secret, err
}

// streamingPipeline is p for routes whose bodies are streamed, never
// buffered to be hashed: its SigV4 verifier accepts UNSIGNED-PAYLOAD (the
// handler checks the content itself, e.g. X-Tenantml-Sha256).
func streamingPipeline(p *api.Pipeline) *api.Pipeline {
	objects := *p
	if auths, ok := p.Authn.(*api.Authenticators); ok {
		if sv, ok := auths.SigV4.(*api.SigV4Authenticator); ok {
			v := *sv.Verifier
			v.AllowUnsignedPayload = true
			objects.Authn = &api.Authenticators{SigV4: &api.SigV4Authenticator{Verifier: &v}, Basic: auths.Basic}
		}
	}
	return &objects
}
