package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/tenant"
)

// keySweepInterval is how often the server runs the keys' automatic
// rotation and deletion sweeps.
const keySweepInterval = time.Hour

// keyParts is what serve_keys adds to the server: the key service, the
// artifact store and the sweep goroutine's stop function.
type keyParts struct {
	keys       *keys.Service
	artifacts  *artifact.Store
	stopSweeps func()
}

// openKeys builds the key service (KEK = the master key, records in the
// metadata store) and opens the artifact store (cfg.Blob, default files
// under <data-dir>/blobs), then starts the periodic key sweeps.
func (s *server) openKeys(ctx context.Context) error {
	svc, err := keys.New(keys.Config{Store: s.store.Keys(), KEK: s.kek, Region: s.cfg.Region, Account: s.cfg.AccountID, Now: s.now, Rand: s.rand})
	if err != nil {
		return fmt.Errorf("open keys: %w", err)
	}
	blobURL := s.cfg.Blob
	if blobURL == "" {
		dir, err := filepath.Abs(filepath.Join(s.cfg.DataDir, "blobs"))
		if err != nil {
			return fmt.Errorf("open artifacts: %w", err)
		}
		blobURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
	}
	arts := artifact.New(artifact.Config{URL: blobURL, Keys: svc, Index: s.store.Objects(), Now: s.now, Rand: s.rand, RehashOnRead: s.cfg.ArtifactRehash,
		Quota: quotaLimits{s.quotas()}})
	if err := arts.Open(ctx); err != nil {
		return err
	}
	s.kp.keys, s.kp.artifacts = svc, arts
	s.kp.stopSweeps = s.startKeySweeps(keySweepInterval)
	return nil
}

// closeKeys stops the sweeps and closes the artifact store.
func (s *server) closeKeys(ctx context.Context) error {
	if s.kp.stopSweeps != nil {
		s.kp.stopSweeps()
		s.kp.stopSweeps = nil
	}
	if s.kp.artifacts != nil {
		return s.kp.artifacts.Close(ctx)
	}
	return nil
}

// startKeySweeps runs sweepKeys every interval until the returned function
// is called; that function waits for a running sweep to end.
func (s *server) startKeySweeps(interval time.Duration) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := s.sweepKeys(ctx, s.now()); err != nil {
					s.log.Error("key sweep failed", "error", err)
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// sweepKeys rotates the keys whose automatic rotation is due and destroys
// the keys whose deletion waiting period ended at now. It logs what it did
// (key IDs and tenants, never key material) and returns every error.
func (s *server) sweepKeys(ctx context.Context, now time.Time) error {
	rotated, rerr := s.kp.keys.RotateDue(ctx, now)
	for _, k := range rotated {
		s.log.Info("key rotated automatically", "tenant", k.Tenant, "keyId", k.KeyID)
	}
	destroyed, derr := s.kp.keys.DestroyDue(ctx, now)
	for _, k := range destroyed {
		s.log.Info("key material destroyed after its waiting period", "tenant", k.Tenant, "keyId", k.KeyID, "versions", k.Versions)
	}
	if rerr != nil {
		rerr = fmt.Errorf("rotate due keys: %w", rerr)
	}
	if derr != nil {
		derr = fmt.Errorf("destroy due keys: %w", derr)
	}
	return errors.Join(rerr, derr)
}

// registerKeys adds the management API's key and erasure routes.
func (s *server) registerKeys(srv *api.Server, p *api.Pipeline) {
	(&manage.Keys{Tenants: s.store.Tenants(), Keys: s.kp.keys, Artifacts: s.kp.artifacts, Pipeline: p, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
}

// onboarding wraps the tenant registry the management API uses so that
// tenant lifecycle changes reach the tenant's keys.
func (s *server) onboarding(inner tenant.Service) tenant.Service {
	ps := []tenant.Provisioner{&keys.TenantKeys{Keys: s.kp.keys, Alias: artifact.DefaultKeyAlias}}
	if s.sp.deployer != nil {
		ps = append(ps, s.sp.deployer) // retires the tenant's endpoints and cached models
	}
	return &tenant.Onboarding{Service: inner, Provisioners: ps}
}
