package quota

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/tenant"
)

// Store persists tiers and tenants' overrides. Every method that concerns
// one tenant takes it explicitly.
type Store interface {
	// CreateTier inserts t (Version 1); ECONFLICT when the name exists.
	CreateTier(ctx context.Context, t *Tier) error
	// UpdateTier replaces the limits of t.Name if its stored version is
	// still t.Version, and increments it; ENOTFOUND for a missing tier,
	// ECONFLICT for a changed one.
	UpdateTier(ctx context.Context, t *Tier) error
	// FindTier returns the tier, or ENOTFOUND.
	FindTier(ctx context.Context, name string) (*Tier, error)
	// ListTiers returns every stored tier, by name.
	ListTiers(ctx context.Context) ([]*Tier, error)
	// FindOverrides returns tenant's overrides (empty when it has none).
	FindOverrides(ctx context.Context, tenant string) (Limits, error)
	// PutOverrides replaces tenant's overrides; empty Limits remove them.
	PutOverrides(ctx context.Context, tenant string, l Limits) error
}

// MaxTiers bounds the tiers an operator may define.
const MaxTiers = 1000

// Service is the quota registry as the API and the admission stage use
// it: stored tiers over the built-in ones, overrides, and each tenant's
// effective limits, cached for CacheTTL (a change made through this
// Service is seen at once; one made through another gateway within
// CacheTTL).
type Service struct {
	Store   Store
	Tenants tenant.Service
	// CacheTTL bounds how long effective limits are reused; default 5 s.
	CacheTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	e  *Effective
	at time.Time
}

// maxCached bounds the cached tenants; beyond it the cache starts over.
const maxCached = 100000

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) ttl() time.Duration {
	if s.CacheTTL <= 0 {
		return 5 * time.Second
	}
	return s.CacheTTL
}

func builtin(name string) *Tier {
	for _, t := range BuiltinTiers() {
		if t.Name == name {
			return &t
		}
	}
	return nil
}

// ErrTierNotFound is the answer for a tier that does not exist.
func ErrTierNotFound(name string) error {
	if len(name) > 80 {
		name = name[:80] + "..."
	}
	return tenantml.Errorf(tenantml.ENOTFOUND, "tier %q not found", name)
}

// FindTier returns the stored tier, else the built-in one, else ENOTFOUND.
func (s *Service) FindTier(ctx context.Context, name string) (*Tier, error) {
	if err := ValidateTierName(name); err != nil {
		return nil, ErrTierNotFound(name)
	}
	t, err := s.Store.FindTier(ctx, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		if b := builtin(name); b != nil {
			return b, nil
		}
		return nil, ErrTierNotFound(name)
	}
	return t, err
}

// ListTiers returns the stored tiers and the built-in ones not stored, by
// name.
func (s *Service) ListTiers(ctx context.Context) ([]*Tier, error) {
	stored, err := s.Store.ListTiers(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, t := range stored {
		seen[t.Name] = true
	}
	for _, b := range BuiltinTiers() {
		if !seen[b.Name] {
			stored = append(stored, &b)
		}
	}
	sort.Slice(stored, func(i, j int) bool { return stored[i].Name < stored[j].Name })
	return stored, nil
}

// CreateTier defines a new tier; ECONFLICT when the name exists (built-in
// tiers exist from the start: change them with UpdateTier).
func (s *Service) CreateTier(ctx context.Context, t *Tier) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if builtin(t.Name) != nil {
		return tenantml.Errorf(tenantml.ECONFLICT, "tier %q already exists (built in): change it with an update", t.Name)
	}
	all, err := s.Store.ListTiers(ctx)
	if err != nil {
		return err
	}
	if len(all) >= MaxTiers {
		return tenantml.Errorf(tenantml.EINVALID, "at most %d tiers may be defined", MaxTiers)
	}
	t.Builtin, t.Version = false, 1
	if err := s.Store.CreateTier(ctx, t); err != nil {
		return err
	}
	s.invalidateAll()
	return nil
}

// UpdateTier sets the fields change sets on tier name (a built-in tier is
// stored on its first change) and returns the tier.
func (s *Service) UpdateTier(ctx context.Context, name string, change Limits) (*Tier, error) {
	if err := change.Validate(); err != nil {
		return nil, err
	}
	t, err := s.FindTier(ctx, name)
	if err != nil {
		return nil, err
	}
	t.Limits = t.Limits.Over(change)
	if t.Builtin {
		t.Builtin, t.Version = false, 1
		err = s.Store.CreateTier(ctx, t)
	} else {
		err = s.Store.UpdateTier(ctx, t)
	}
	if err != nil {
		return nil, err
	}
	s.invalidateAll()
	return t, nil
}

// Overrides returns tenant's overrides; ENOTFOUND for a missing tenant.
func (s *Service) Overrides(ctx context.Context, tenantID string) (Limits, error) {
	if _, err := s.Tenants.FindTenant(ctx, tenantID); err != nil {
		return Limits{}, err
	}
	return s.Store.FindOverrides(ctx, tenantID)
}

// SetOverrides replaces tenant's overrides and returns its effective
// limits; ENOTFOUND for a missing tenant.
func (s *Service) SetOverrides(ctx context.Context, tenantID string, l Limits) (*Effective, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.Tenants.FindTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	if err := s.Store.PutOverrides(ctx, tenantID, l); err != nil {
		return nil, err
	}
	s.invalidate(tenantID)
	return s.resolve(ctx, tenantID)
}

// Effective returns tenant's effective limits, from the cache when fresh.
// A tenant ID that names no registered tenant (a principal tagged for a
// tenant not onboarded) gets DefaultTier's limits.
func (s *Service) Effective(ctx context.Context, tenantID string) (*Effective, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[tenantID]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.ttl() {
		return c.e, nil
	}
	e, err := s.resolve(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.cache == nil || len(s.cache) >= maxCached {
		s.cache = map[string]cached{}
	}
	s.cache[tenantID] = cached{e: e, at: now}
	s.mu.Unlock()
	return e, nil
}

// Describe returns tenant's effective limits, uncached; ENOTFOUND for a
// missing tenant.
func (s *Service) Describe(ctx context.Context, tenantID string) (*Effective, error) {
	if _, err := s.Tenants.FindTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	return s.resolve(ctx, tenantID)
}

func (s *Service) resolve(ctx context.Context, tenantID string) (*Effective, error) {
	t, err := s.Tenants.FindTenant(ctx, tenantID)
	switch tenantml.ErrorCode(err) {
	case "":
	case tenantml.ENOTFOUND, tenantml.EINVALID:
		def, err := s.FindTier(ctx, DefaultTier)
		if err != nil {
			return nil, fmt.Errorf("default tier: %w", err)
		}
		e := Resolve(tenantID, "", nil, *def, Limits{})
		return &e, nil
	default:
		return nil, fmt.Errorf("find tenant: %w", err)
	}
	o, err := s.Store.FindOverrides(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("find overrides: %w", err)
	}
	tier, err := s.FindTier(ctx, t.Tier)
	var def *Tier
	switch tenantml.ErrorCode(err) {
	case "":
	case tenantml.ENOTFOUND:
		tier = nil
		if def, err = s.FindTier(ctx, DefaultTier); err != nil {
			return nil, fmt.Errorf("default tier: %w", err)
		}
	default:
		return nil, fmt.Errorf("find tier: %w", err)
	}
	if def == nil {
		def = tier
	}
	e := Resolve(tenantID, t.Tier, tier, *def, o)
	return &e, nil
}

func (s *Service) invalidate(tenantID string) {
	s.mu.Lock()
	delete(s.cache, tenantID)
	s.mu.Unlock()
}

func (s *Service) invalidateAll() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}

// Peek returns tenant's effective limits as last cached, however old,
// without any I/O (for callers under locks: the pool's cache and
// scheduler); false when none is cached. The admission stage reads every
// invoking tenant's limits first, so the pool finds them.
func (s *Service) Peek(tenantID string) (*Effective, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[tenantID]
	return c.e, ok
}
