package quota

import (
	"math"
	"regexp"

	"github.com/tenantml/tenantml"
)

// Unlimited, as a limit's value, lifts the limit.
const Unlimited = -1

// Limits are quotas: a tier's defaults or a tenant's overrides. A nil field
// is unset — unlimited in a tier, the tier's value in overrides; Unlimited
// (-1) is an explicit "no limit" in both.
type Limits struct {
	// InvocationsPerSecond is the sustained InvokeEndpoint rate;
	// InvocationBurst the requests allowed at once (GCRA).
	InvocationsPerSecond *float64 `json:"invocationsPerSecond,omitempty" yaml:"invocationsPerSecond,omitempty"`
	InvocationBurst      *int64   `json:"invocationBurst,omitempty" yaml:"invocationBurst,omitempty"`
	// ConcurrentInvocations caps the tenant's invocations in flight on one
	// gateway.
	ConcurrentInvocations *int64 `json:"concurrentInvocations,omitempty" yaml:"concurrentInvocations,omitempty"`
	// LoadedModels and LoadedModelBytes cap what the tenant holds in a
	// pool worker's memory.
	LoadedModels     *int64 `json:"loadedModels,omitempty" yaml:"loadedModels,omitempty"`
	LoadedModelBytes *int64 `json:"loadedModelBytes,omitempty" yaml:"loadedModelBytes,omitempty"`
	// StoredBytes caps the tenant's object bytes (objects and multipart
	// parts in progress).
	StoredBytes *int64 `json:"storedBytes,omitempty" yaml:"storedBytes,omitempty"`
	// Endpoints and Models cap the tenant's SageMaker endpoints and models.
	Endpoints *int64 `json:"endpoints,omitempty" yaml:"endpoints,omitempty"`
	Models    *int64 `json:"models,omitempty" yaml:"models,omitempty"`
	// ManagementPerSecond and ManagementBurst rate every other API call of
	// the tenant's principals (IAM, STS, KMS, the SageMaker control plane,
	// the management API).
	ManagementPerSecond *float64 `json:"managementPerSecond,omitempty" yaml:"managementPerSecond,omitempty"`
	ManagementBurst     *int64   `json:"managementBurst,omitempty" yaml:"managementBurst,omitempty"`
	// Weight is the tenant's share in fair scheduling and in the pool's
	// model cache (default 1).
	Weight *float64 `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// Bounds of a limit's value.
const (
	MaxRate   = 1e6     // requests per second
	MaxWeight = 1000    // fair-share weight
	MaxCount  = 1 << 50 // any count or byte limit
)

// Validate checks every set field: rates and weight positive (a rate may
// be Unlimited), counts non-negative or Unlimited, a burst of at least 1.
func (l *Limits) Validate() error {
	rate := func(name string, v *float64) error {
		if v == nil || *v == Unlimited {
			return nil
		}
		if math.IsNaN(*v) || *v <= 0 || *v > MaxRate {
			return tenantml.Errorf(tenantml.EINVALID, "%s must be a positive number of requests per second up to %g, or -1 for unlimited", name, float64(MaxRate))
		}
		return nil
	}
	count := func(name string, v *int64, least int64) error {
		if v == nil || *v == Unlimited {
			return nil
		}
		if *v < least || *v > MaxCount {
			return tenantml.Errorf(tenantml.EINVALID, "%s must be between %d and %d, or -1 for unlimited", name, least, int64(MaxCount))
		}
		return nil
	}
	for _, err := range []error{
		rate("invocationsPerSecond", l.InvocationsPerSecond),
		count("invocationBurst", l.InvocationBurst, 1),
		count("concurrentInvocations", l.ConcurrentInvocations, 0),
		count("loadedModels", l.LoadedModels, 0),
		count("loadedModelBytes", l.LoadedModelBytes, 0),
		count("storedBytes", l.StoredBytes, 0),
		count("endpoints", l.Endpoints, 0),
		count("models", l.Models, 0),
		rate("managementPerSecond", l.ManagementPerSecond),
		count("managementBurst", l.ManagementBurst, 1),
	} {
		if err != nil {
			return err
		}
	}
	if w := l.Weight; w != nil && (math.IsNaN(*w) || *w <= 0 || *w > MaxWeight) {
		return tenantml.Errorf(tenantml.EINVALID, "weight must be a positive number up to %d", MaxWeight)
	}
	return nil
}

// Over returns l with every field o sets replaced by o's.
func (l Limits) Over(o Limits) Limits {
	pick := func(a, b *int64) *int64 {
		if b != nil {
			return b
		}
		return a
	}
	pickF := func(a, b *float64) *float64 {
		if b != nil {
			return b
		}
		return a
	}
	return Limits{
		InvocationsPerSecond:  pickF(l.InvocationsPerSecond, o.InvocationsPerSecond),
		InvocationBurst:       pick(l.InvocationBurst, o.InvocationBurst),
		ConcurrentInvocations: pick(l.ConcurrentInvocations, o.ConcurrentInvocations),
		LoadedModels:          pick(l.LoadedModels, o.LoadedModels),
		LoadedModelBytes:      pick(l.LoadedModelBytes, o.LoadedModelBytes),
		StoredBytes:           pick(l.StoredBytes, o.StoredBytes),
		Endpoints:             pick(l.Endpoints, o.Endpoints),
		Models:                pick(l.Models, o.Models),
		ManagementPerSecond:   pickF(l.ManagementPerSecond, o.ManagementPerSecond),
		ManagementBurst:       pick(l.ManagementBurst, o.ManagementBurst),
		Weight:                pickF(l.Weight, o.Weight),
	}
}

// Tier is a named set of default limits.
type Tier struct {
	Name   string `json:"name"`
	Limits Limits `json:"limits"`
	// Builtin marks a tier defined by tenantml itself and not (yet)
	// changed by the operator.
	Builtin bool `json:"builtin,omitempty"`
	// Version increments on every update (optimistic concurrency).
	Version int64 `json:"version"`
}

var tierName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// ValidateTierName reports whether name may name a tier: 1–64 lowercase
// letters, digits and hyphens, starting and ending with a letter or digit.
func ValidateTierName(name string) error {
	if !tierName.MatchString(name) {
		n := name
		if len(n) > 80 {
			n = n[:80] + "..."
		}
		return tenantml.Errorf(tenantml.EINVALID, "tier name %q must be 1 to 64 lowercase letters, digits and hyphens, starting and ending with a letter or digit", n)
	}
	return nil
}

// Validate checks the tier's name and limits.
func (t *Tier) Validate() error {
	if err := ValidateTierName(t.Name); err != nil {
		return err
	}
	return t.Limits.Validate()
}

// DefaultTier is the tier whose limits apply to a tenant whose tier is
// not defined (tenant.DefaultTier).
const DefaultTier = "basic"

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }

// BuiltinTiers are the tiers tenantml defines until the operator changes
// them: basic (the default) and premium (four times basic, weight 4).
// They are generous on purpose — a default must not refuse a tenant's
// ordinary work — and meant to be tuned with tier update. Each call
// returns new values.
func BuiltinTiers() []Tier {
	const gib = 1 << 30
	return []Tier{
		{Name: "basic", Builtin: true, Limits: Limits{
			InvocationsPerSecond: f64(100), InvocationBurst: i64(200), ConcurrentInvocations: i64(32),
			LoadedModels: i64(16), LoadedModelBytes: i64(4 * gib), StoredBytes: i64(50 * gib),
			Endpoints: i64(20), Models: i64(100),
			ManagementPerSecond: f64(100), ManagementBurst: i64(2000), Weight: f64(1),
		}},
		{Name: "premium", Builtin: true, Limits: Limits{
			InvocationsPerSecond: f64(400), InvocationBurst: i64(800), ConcurrentInvocations: i64(128),
			LoadedModels: i64(64), LoadedModelBytes: i64(16 * gib), StoredBytes: i64(500 * gib),
			Endpoints: i64(80), Models: i64(400),
			ManagementPerSecond: f64(400), ManagementBurst: i64(8000), Weight: f64(4),
		}},
	}
}

// Effective are a tenant's limits after its tier and overrides: a negative
// value (or zero rate) means unlimited.
type Effective struct {
	Tenant string `json:"tenant"`
	Tier   string `json:"tier"`
	// TierDefined is false when the tenant's tier names no defined tier and
	// DefaultTier's limits apply.
	TierDefined bool   `json:"tierDefined"`
	Limits      Limits `json:"limits"`
	Overrides   Limits `json:"overrides"`
}

// Resolve returns the effective limits of tenant in tier t (nil when the
// tier is not defined: def applies) with overrides o.
func Resolve(tenant, tierName string, t *Tier, def Tier, o Limits) Effective {
	e := Effective{Tenant: tenant, Tier: tierName, TierDefined: t != nil, Overrides: o}
	base := def
	if t != nil {
		base = *t
	}
	e.Limits = base.Limits.Over(o)
	return e
}

// Rate is a GCRA limit: PerSecond requests per second sustained, Burst at
// once. A zero Rate is unlimited.
type Rate struct {
	PerSecond float64
	Burst     int64
}

// Unlimited reports whether r limits nothing.
func (r Rate) Unlimited() bool { return r.PerSecond <= 0 }

// InvocationRate is the tenant's invocation rate.
func (e *Effective) InvocationRate() Rate {
	return rateOf(e.Limits.InvocationsPerSecond, e.Limits.InvocationBurst)
}

// ManagementRate is the tenant's management-API rate.
func (e *Effective) ManagementRate() Rate {
	return rateOf(e.Limits.ManagementPerSecond, e.Limits.ManagementBurst)
}

func rateOf(ps *float64, burst *int64) Rate {
	if ps == nil || *ps <= 0 {
		return Rate{}
	}
	r := Rate{PerSecond: *ps, Burst: 1}
	if burst != nil && *burst > 0 {
		r.Burst = *burst
	} else if burst != nil && *burst == Unlimited {
		return Rate{}
	} else if *ps > 1 {
		r.Burst = int64(math.Ceil(*ps)) // one second's worth
	}
	return r
}

// Count returns a count limit's value and whether it limits (unset and
// Unlimited do not).
func Count(v *int64) (int64, bool) {
	if v == nil || *v < 0 {
		return 0, false
	}
	return *v, true
}

// WeightOf returns the fair-share weight (1 when unset).
func (e *Effective) WeightOf() float64 {
	if w := e.Limits.Weight; w != nil && *w > 0 {
		return *w
	}
	return 1
}
