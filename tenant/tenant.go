package tenant

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
)

// Isolation is how a tenant's requests are kept apart from other tenants'.
type Isolation string

// The isolation models (see docs/isolation.md).
const (
	Silo   Isolation = "silo"   // dedicated role, policy and workers per tenant
	Pool   Isolation = "pool"   // shared role and multi-model worker, ABAC on TargetModel
	Bridge Isolation = "bridge" // shared role, dedicated single-model worker per tenant
)

// Status is a tenant's lifecycle state.
type Status string

// Tenant lifecycle states.
const (
	Active          Status = "active"
	Suspended       Status = "suspended"
	PendingDeletion Status = "pending_deletion"
)

// Tier names a tenant's service tier (free text such as "basic", "premium").
type Tier = string

// Limits on a tenant's attributes.
const (
	MinIDLength       = 3
	MaxIDLength       = 63
	MaxDisplayName    = 256
	MaxTags           = 50
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
	DefaultTier       = "basic"
)

// Tenant is one of the provider's customers.
type Tenant struct {
	ID          string            `json:"id"`
	DisplayName string            `json:"displayName"`
	Isolation   Isolation         `json:"isolation"`
	Tier        Tier              `json:"tier"`
	HomeRegion  string            `json:"homeRegion"`
	Tags        map[string]string `json:"tags"`
	Status      Status            `json:"status"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
	// DeletionRequestedAt is set when Status is PendingDeletion.
	DeletionRequestedAt *time.Time `json:"deletionRequestedAt,omitempty"`
	// Version increments on every update; stores use it for optimistic
	// concurrency.
	Version int64 `json:"version"`
}

// TagKey is the tag that names the tenant of a principal or a resource
// (aws:PrincipalTag/TenantID, aws:ResourceTag/TenantID). It is the only
// definition of the name.
const TagKey = "TenantID"

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)
	regionPattern = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-[0-9]+$`)
	tagKeyPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
)

// reserved are words a TenantID may not be: they name platform principals,
// paths or DNS labels that must never belong to a customer.
var reserved = map[string]bool{
	"admin": true, "administrator": true, "api": true, "aws": true, "console": true,
	"default": true, "internal": true, "localhost": true, "metrics": true,
	"operator": true, "platform": true, "public": true, "root": true, "shared": true,
	"system": true, "tenantml": true, "www": true, "pool": true, "all": true,
}

// ValidateID reports whether id may be a TenantID, with an EINVALID error
// that says which rule it breaks.
func ValidateID(id string) error {
	switch {
	case len(id) < MinIDLength || len(id) > MaxIDLength:
		return tenantml.Errorf(tenantml.EINVALID, "tenant ID %q must be %d to %d characters", truncate(id), MinIDLength, MaxIDLength)
	case !idPattern.MatchString(id):
		return tenantml.Errorf(tenantml.EINVALID, "tenant ID %q must be lowercase letters, digits and hyphens, starting and ending with a letter or digit", truncate(id))
	case strings.Contains(id, "--"):
		return tenantml.Errorf(tenantml.EINVALID, "tenant ID %q must not contain \"--\" (it separates a tenant's ID from the rest of the names its principals create)", id)
	case looksLikeIP(id):
		return tenantml.Errorf(tenantml.EINVALID, "tenant ID %q must not be shaped like an IP address", id)
	case reserved[id]:
		return tenantml.Errorf(tenantml.EINVALID, "tenant ID %q is reserved", id)
	}
	return nil
}

// looksLikeIP reports IPv4 dotted quads (which the pattern above already
// excludes by forbidding dots) and their hyphenated forms like 192-168-0-1,
// which DNS and S3 treat specially.
func looksLikeIP(id string) bool {
	if _, err := netip.ParseAddr(id); err == nil {
		return true
	}
	_, err := netip.ParseAddr(strings.ReplaceAll(id, "-", "."))
	return err == nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// ValidateIsolation reports whether m is a known isolation model.
func ValidateIsolation(m Isolation) error {
	switch m {
	case Silo, Pool, Bridge:
		return nil
	}
	return tenantml.Errorf(tenantml.EINVALID, "isolation %q must be one of silo, pool, bridge", m)
}

// ValidateRegion reports whether r is shaped like an AWS region name.
func ValidateRegion(r string) error {
	if !regionPattern.MatchString(r) {
		return tenantml.Errorf(tenantml.EINVALID, "region %q must look like us-east-1", truncate(r))
	}
	return nil
}

// ValidateTags checks tag count and key/value lengths as IAM does.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return tenantml.Errorf(tenantml.EINVALID, "at most %d tags are allowed, got %d", MaxTags, len(tags))
	}
	seen := make(map[string]string, len(tags))
	for k, v := range tags {
		if k == "" || len(k) > MaxTagKeyLength || !tagKeyPattern.MatchString(k) {
			return tenantml.Errorf(tenantml.EINVALID, "tag key %q must be 1 to %d letters, digits, spaces or _.:/=+-@", truncate(k), MaxTagKeyLength)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return tenantml.Errorf(tenantml.EINVALID, "tag key %q: the aws: prefix is reserved", k)
		}
		if len(v) > MaxTagValueLength {
			return tenantml.Errorf(tenantml.EINVALID, "tag %q: value longer than %d characters", k, MaxTagValueLength)
		}
		if other, dup := seen[strings.ToLower(k)]; dup {
			return tenantml.Errorf(tenantml.EINVALID, "tag keys %q and %q differ only in case", other, k)
		}
		seen[strings.ToLower(k)] = k
	}
	return nil
}

// Validate checks every field of a tenant about to be created.
func (t *Tenant) Validate() error {
	if err := ValidateID(t.ID); err != nil {
		return err
	}
	if err := ValidateIsolation(t.Isolation); err != nil {
		return err
	}
	if err := ValidateRegion(t.HomeRegion); err != nil {
		return err
	}
	if len(t.DisplayName) > MaxDisplayName {
		return tenantml.Errorf(tenantml.EINVALID, "display name longer than %d characters", MaxDisplayName)
	}
	if t.Tier == "" || len(t.Tier) > 64 {
		return tenantml.Errorf(tenantml.EINVALID, "tier must be 1 to 64 characters")
	}
	return ValidateTags(t.Tags)
}

// Filter selects tenants in a List call. Pagination is by TenantID: Next
// continues after the last ID of the previous page.
type Filter struct {
	Status    Status
	Isolation Isolation
	// After returns tenants whose ID sorts after this one.
	After string
	// Limit caps the page size; zero means DefaultPageSize.
	Limit int
}

// Page sizes for List.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// PageSize returns the page size f asks for: DefaultPageSize when Limit is
// zero, EINVALID outside 1..MaxPageSize.
func (f Filter) PageSize() (int, error) {
	switch {
	case f.Limit == 0:
		return DefaultPageSize, nil
	case f.Limit < 0 || f.Limit > MaxPageSize:
		return 0, tenantml.Errorf(tenantml.EINVALID, "limit must be between 1 and %d", MaxPageSize)
	}
	return f.Limit, nil
}

// Update holds the fields an update may change; nil means unchanged.
type Update struct {
	DisplayName *string            `json:"displayName,omitempty"`
	Tier        *string            `json:"tier,omitempty"`
	Isolation   *Isolation         `json:"isolation,omitempty"`
	Tags        *map[string]string `json:"tags,omitempty"`
}

// Apply validates u and applies it to t.
func (u Update) Apply(t *Tenant) error {
	if u.DisplayName != nil {
		t.DisplayName = *u.DisplayName
	}
	if u.Tier != nil {
		t.Tier = *u.Tier
	}
	if u.Isolation != nil {
		t.Isolation = *u.Isolation
	}
	if u.Tags != nil {
		t.Tags = *u.Tags
	}
	return t.Validate()
}

// Service manages the tenant registry.
type Service interface {
	CreateTenant(ctx context.Context, t *Tenant) error
	FindTenant(ctx context.Context, id string) (*Tenant, error)
	ListTenants(ctx context.Context, f Filter) (tenants []*Tenant, next string, err error)
	UpdateTenant(ctx context.Context, id string, u Update) (*Tenant, error)
	SetStatus(ctx context.Context, id string, s Status) (*Tenant, error)
}

// Transition applies a lifecycle change to t: active ⇄ suspended, and
// active or suspended → pending_deletion. Anything else is ECONFLICT (or
// EINVALID for an unknown status), and t is left unchanged.
func Transition(t *Tenant, to Status, now time.Time) error {
	switch to {
	case Active, Suspended, PendingDeletion:
	default:
		return tenantml.Errorf(tenantml.EINVALID, "status %q must be one of active, suspended, pending_deletion", to)
	}
	ok := (t.Status == Active && to == Suspended) ||
		(t.Status == Suspended && to == Active) ||
		((t.Status == Active || t.Status == Suspended) && to == PendingDeletion)
	if !ok {
		return tenantml.Errorf(tenantml.ECONFLICT, "tenant %q is %s and cannot become %s", t.ID, t.Status, to)
	}
	t.Status = to
	if to == PendingDeletion {
		at := now.UTC()
		t.DeletionRequestedAt = &at
	}
	return nil
}

// ErrNotFound is the error for a tenant id that does not exist: the one
// text every store and API answers, so that a tenant hidden from a caller
// answers exactly like a missing one.
func ErrNotFound(id string) error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "tenant %q not found", truncate(id))
}
