package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/tenantml/tenantml/iam/arn"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/internal/ttlcache"
	"github.com/tenantml/tenantml/sts"
	"github.com/tenantml/tenantml/tenant"
)

// The request path's caches of store reads (issue 14: no store read on the
// hot path). Each is bounded in age and size and dropped whole by
// server.invalidate, which the store calls after every write made through
// this process (store.Watch): a suspension, a revocation, a key's
// deactivation or a tenant's erasure takes effect on this server's next
// request. The TTLs bound how long a write made by another gateway sharing
// the store goes unseen, as the effective-policy cache's does
// (authz.DefaultEffectiveTTL).
const (
	// hotCacheTTL is the age limit of a role's revocation time, a
	// tenant's status and a resolved IAM user key.
	hotCacheTTL = 5 * time.Second
	// hotCacheSize bounds each of those caches (entries).
	hotCacheSize = 4096
)

// hotCaches are the server's caches of store reads on the request path.
type hotCaches struct {
	revoked *ttlcache.Cache[roleKey, time.Time]
	users   *ttlcache.Cache[string, *authn.Credential]
	tenants *ttlcache.Cache[string, bool]
	// sessions are resolved session credentials by the SHA-256 of their
	// token.
	sessions *ttlcache.Cache[[sha256.Size]byte, *authn.Credential]
}

// roleKey names a role of an account.
type roleKey struct{ account, name string }

func newHotCaches(now func() time.Time) hotCaches {
	return hotCaches{
		revoked:  ttlcache.New[roleKey, time.Time](hotCacheTTL, hotCacheSize, now),
		users:    ttlcache.New[string, *authn.Credential](hotCacheTTL, hotCacheSize, now),
		tenants:  ttlcache.New[string, bool](hotCacheTTL, hotCacheSize, now),
		sessions: ttlcache.New[[sha256.Size]byte, *authn.Credential](hotCacheTTL, hotCacheSize, now),
	}
}

// invalidate drops every cache of store reads: the store calls it after
// every write made through this process (store.Watch).
func (s *server) invalidate() {
	s.caches.revoked.Invalidate()
	s.caches.users.Invalidate()
	s.caches.tenants.Invalidate()
	s.caches.sessions.Invalidate()
	if s.sealer != nil {
		s.sealer.invalidate()
	}
	if s.engine != nil {
		s.engine.Invalidate()
	}
}

// cachedCredentials is identity.Credentials with its store reads cached:
// an IAM user's resolved key (access key, unsealed secret, user) by access
// key ID, and a role's session revocation time by account and role name.
// The root key is resolved in memory and not cached. Failures (unknown or
// inactive keys, store errors) are never cached.
type cachedCredentials struct {
	*identity.Credentials
	revoked *ttlcache.Cache[roleKey, time.Time]
	users   *ttlcache.Cache[string, *authn.Credential]
}

var (
	_ authn.CredentialSource = (*cachedCredentials)(nil)
	_ sts.RevocationChecker  = (*cachedCredentials)(nil)
)

// Credential implements authn.CredentialSource. The cached credential is
// copied, its principal too, so that no request sees another's changes.
func (c *cachedCredentials) Credential(ctx context.Context, accessKeyID, sessionToken string) (*authn.Credential, error) {
	if !strings.HasPrefix(accessKeyID, "AKIA") {
		return c.Credentials.Credential(ctx, accessKeyID, sessionToken)
	}
	cred, ok := c.users.Get(accessKeyID)
	if !ok {
		gen := c.users.Gen()
		var err error
		if cred, err = c.Credentials.Credential(ctx, accessKeyID, sessionToken); err != nil {
			return nil, err
		}
		c.users.Put(accessKeyID, cred, gen)
	}
	out, p := *cred, *cred.Principal
	out.Principal = &p
	return &out, nil
}

// RevokedBefore implements sts.RevocationChecker.
func (c *cachedCredentials) RevokedBefore(ctx context.Context, roleARN string) (time.Time, error) {
	acct := c.Account
	if a := arn.AccountOf(roleARN); a != "" {
		acct = a // a role of a further account: its own cache entry
	}
	k := roleKey{acct, roleARN[strings.LastIndex(roleARN, "/")+1:]}
	if t, ok := c.revoked.Get(k); ok {
		return t, nil
	}
	gen := c.revoked.Gen()
	t, err := c.Credentials.RevokedBefore(ctx, roleARN)
	if err != nil {
		return time.Time{}, err
	}
	c.revoked.Put(k, t, gen)
	return t, nil
}

// cachedSessions is the credential source of temporary keys (sts.Source:
// the session token opened, AES-GCM and JSON, and the role's revocation
// checked) with its answers cached by the SHA-256 of the session token, so
// that a session's requests after its first open nothing. A cached answer
// is served only for the access key it was issued with and before the
// session's expiration; a revocation through this process drops it at
// once (server.invalidate), another process's within the cache's TTL, as
// for the revocation time itself. Failures are never cached.
type cachedSessions struct {
	inner authn.CredentialSource
	cache *ttlcache.Cache[[sha256.Size]byte, *authn.Credential]
	now   func() time.Time
}

// Credential implements authn.CredentialSource; the cached credential is
// copied, its principal too.
func (c *cachedSessions) Credential(ctx context.Context, accessKeyID, sessionToken string) (*authn.Credential, error) {
	k := sha256.Sum256([]byte(sessionToken))
	cred, ok := c.cache.Get(k)
	if !ok || cred.AccessKeyID != accessKeyID || cred.Principal.Session == nil || !c.now().Before(cred.Principal.Session.Expiration) {
		gen := c.cache.Gen()
		var err error
		if cred, err = c.inner.Credential(ctx, accessKeyID, sessionToken); err != nil {
			return nil, err
		}
		c.cache.Put(k, cred, gen)
	}
	out, p := *cred, *cred.Principal
	out.Principal = &p
	return &out, nil
}

// tenantGate answers api.TenantGate from the tenant registry: a tenant is
// inactive when it is suspended or pending deletion. A tag naming no
// registered tenant (or no valid tenant ID) is left to the IAM policies.
// Answers are cached by tenant ID (nil cache: none); store errors are not.
type tenantGate struct {
	tenants tenant.Service
	cache   *ttlcache.Cache[string, bool]
}

// Inactive implements api.TenantGate.
func (g tenantGate) Inactive(ctx context.Context, id string) (bool, error) {
	if inactive, ok := g.cache.Get(id); ok {
		return inactive, nil
	}
	gen := g.cache.Gen()
	t, err := g.tenants.FindTenant(ctx, id)
	var inactive bool
	switch tenantml.ErrorCode(err) {
	case "":
		inactive = t.Status != tenant.Active
	case tenantml.ENOTFOUND, tenantml.EINVALID:
	default:
		return false, fmt.Errorf("tenant status of %s: %w", id, err)
	}
	g.cache.Put(id, inactive, gen)
	return inactive, nil
}
