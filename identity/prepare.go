package identity

import (
	"io"
	"strings"
	"time"

	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/tenant"
)

// TenantOf returns the value of the TenantID tag ("" when absent), the key
// matched case-insensitively.
func TenantOf(tags map[string]string) string {
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) {
			return v
		}
	}
	return ""
}

// CheckTagChange refuses a tag or untag operation that would add, change
// or remove the TenantID tag: an entity's tenant is fixed at creation.
func CheckTagChange(current map[string]string, set map[string]string, remove []string) error {
	cur, had := "", false
	for k, v := range current {
		if strings.EqualFold(k, tenant.TagKey) {
			cur, had = v, true
		}
	}
	for k, v := range set {
		if strings.EqualFold(k, tenant.TagKey) && (!had || v != cur) {
			return Errorf(InvalidInput, "the %s tag is fixed when the entity is created", tenant.TagKey)
		}
	}
	for _, k := range remove {
		if strings.EqualFold(k, tenant.TagKey) && had {
			return Errorf(InvalidInput, "the %s tag is fixed when the entity is created", tenant.TagKey)
		}
	}
	return nil
}

// MergeTags returns current with set applied (keys matched
// case-insensitively, the new spelling winning) and remove deleted, and
// checks the result.
func MergeTags(current, set map[string]string, remove []string) (map[string]string, error) {
	if err := ValidateTags(set); err != nil {
		return nil, err
	}
	if err := ValidateTagKeys(remove); err != nil {
		return nil, err
	}
	if err := CheckTagChange(current, set, remove); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(current)+len(set))
	for k, v := range current {
		out[k] = v
	}
	for k, v := range set {
		for old := range out {
			if strings.EqualFold(old, k) {
				delete(out, old)
			}
		}
		out[k] = v
	}
	for _, k := range remove {
		for old := range out {
			if strings.EqualFold(old, k) {
				delete(out, old)
			}
		}
	}
	if len(out) > MaxTags {
		return nil, Errorf(LimitExceeded, "%d tags exceed the limit of %d", len(out), MaxTags)
	}
	return out, nil
}

// Prepare validates u for creation in acct and fills its path default,
// ID, ARN, TenantID and CreatedAt.
func (u *User) Prepare(acct string, rand io.Reader, now time.Time) error {
	if u == nil {
		return Errorf(InvalidInput, "user is required")
	}
	if err := ValidateAccount(acct); err != nil {
		return err
	}
	if err := ValidateName("user", u.Name, MaxUserNameLength); err != nil {
		return err
	}
	u.Path = defaultPath(u.Path)
	if err := ValidatePath(u.Path); err != nil {
		return err
	}
	if err := ValidateTags(u.Tags); err != nil {
		return err
	}
	if u.PermissionsBoundary != "" {
		if _, _, _, err := ParsePolicyARN(u.PermissionsBoundary); err != nil {
			return err
		}
	}
	id, err := NewID(PrefixUser, rand)
	if err != nil {
		return err
	}
	u.AccountID, u.ID, u.ARN = acct, id, EntityARN(acct, "user", u.Path, u.Name)
	u.TenantID, u.CreatedAt = TenantOf(u.Tags), now.UTC().Truncate(time.Microsecond)
	return nil
}

// Prepare validates g for creation in acct and fills its path default, ID,
// ARN and CreatedAt.
func (g *Group) Prepare(acct string, rand io.Reader, now time.Time) error {
	if g == nil {
		return Errorf(InvalidInput, "group is required")
	}
	if err := ValidateAccount(acct); err != nil {
		return err
	}
	if err := ValidateName("group", g.Name, MaxGroupNameLength); err != nil {
		return err
	}
	g.Path = defaultPath(g.Path)
	if err := ValidatePath(g.Path); err != nil {
		return err
	}
	id, err := NewID(PrefixGroup, rand)
	if err != nil {
		return err
	}
	g.AccountID, g.ID, g.ARN, g.CreatedAt = acct, id, EntityARN(acct, "group", g.Path, g.Name), now.UTC().Truncate(time.Microsecond)
	return nil
}

// Prepare validates r (its trust policy included) for creation in acct
// and fills its defaults, ID, ARN, TenantID and CreatedAt.
func (r *Role) Prepare(acct string, rand io.Reader, now time.Time) error {
	if r == nil {
		return Errorf(InvalidInput, "role is required")
	}
	if err := ValidateAccount(acct); err != nil {
		return err
	}
	if err := ValidateName("role", r.Name, MaxRoleNameLength); err != nil {
		return err
	}
	r.Path = defaultPath(r.Path)
	if err := ValidatePath(r.Path); err != nil {
		return err
	}
	if len(r.Description) > MaxDescriptionLength {
		return Errorf(ValidationError, "description exceeds %d characters", MaxDescriptionLength)
	}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = DefaultSessionSeconds
	}
	if err := ValidateSessionDuration(r.MaxSessionDuration); err != nil {
		return err
	}
	if err := ValidateTags(r.Tags); err != nil {
		return err
	}
	if r.PermissionsBoundary != "" {
		if _, _, _, err := ParsePolicyARN(r.PermissionsBoundary); err != nil {
			return err
		}
	}
	if err := ValidateDocument(DocTrust, r.AssumeRolePolicyDocument); err != nil {
		return err
	}
	id, err := NewID(PrefixRole, rand)
	if err != nil {
		return err
	}
	r.AccountID, r.ID, r.ARN = acct, id, EntityARN(acct, "role", r.Path, r.Name)
	r.TenantID, r.CreatedAt, r.SessionsRevokedBefore = TenantOf(r.Tags), now.UTC().Truncate(time.Microsecond), nil
	return nil
}

// Prepare validates p and its first document for creation in acct and
// fills its defaults, ID, ARN, TenantID, version and times.
func (p *Policy) Prepare(acct, document string, rand io.Reader, now time.Time) error {
	if p == nil {
		return Errorf(InvalidInput, "policy is required")
	}
	if err := ValidateAccount(acct); err != nil {
		return err
	}
	if err := ValidateName("policy", p.Name, MaxPolicyNameLength); err != nil {
		return err
	}
	p.Path = defaultPath(p.Path)
	if err := ValidatePath(p.Path); err != nil {
		return err
	}
	if len(p.Description) > MaxDescriptionLength {
		return Errorf(ValidationError, "description exceeds %d characters", MaxDescriptionLength)
	}
	if err := ValidateTags(p.Tags); err != nil {
		return err
	}
	if err := ValidateDocument(DocManaged, document); err != nil {
		return err
	}
	id, err := NewID(PrefixPolicy, rand)
	if err != nil {
		return err
	}
	p.AccountID, p.ID, p.ARN = acct, id, EntityARN(acct, "policy", p.Path, p.Name)
	p.TenantID, p.DefaultVersionID, p.Builtin = TenantOf(p.Tags), "v1", false
	p.AttachmentCount, p.BoundaryUsageCount = 0, 0
	p.CreatedAt, p.UpdatedAt = now.UTC().Truncate(time.Microsecond), now.UTC().Truncate(time.Microsecond)
	return nil
}

// Prepare validates k for creation in acct and fills its ID (when empty),
// status default and CreatedAt.
func (k *AccessKey) Prepare(acct string, rand io.Reader, now time.Time) error {
	if k == nil {
		return Errorf(InvalidInput, "access key is required")
	}
	if err := ValidateAccount(acct); err != nil {
		return err
	}
	if err := ValidateName("user", k.UserName, MaxUserNameLength); err != nil {
		return err
	}
	if k.Status == "" {
		k.Status = Active
	}
	if err := ValidateStatus(k.Status); err != nil {
		return err
	}
	if len(k.SealedSecret) == 0 {
		return Errorf(InvalidInput, "access key needs a sealed secret")
	}
	if k.ID == "" {
		id, err := NewID(PrefixAccessKey, rand)
		if err != nil {
			return err
		}
		k.ID = id
	}
	if err := ValidateAccessKeyID(k.ID); err != nil {
		return err
	}
	k.AccountID, k.CreatedAt, k.LastUsedAt = acct, now.UTC().Truncate(time.Microsecond), nil
	return nil
}

// Prepare validates p for creation in acct and fills its normalized URL,
// ARN, TenantID and CreatedAt.
func (p *OIDCProvider) Prepare(acct string, now time.Time) error {
	if p == nil {
		return Errorf(InvalidInput, "provider is required")
	}
	if err := ValidateAccount(acct); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	issuer, hostPath, _ := NormalizeIssuer(p.URL)
	p.AccountID, p.URL, p.ARN = acct, issuer, arn.New("iam", "", acct, "oidc-provider/"+hostPath).String()
	p.TenantID, p.CreatedAt = TenantOf(p.Tags), now.UTC().Truncate(time.Microsecond)
	return nil
}

// ClampMaxItems returns the page size for a MaxItems value, or
// ValidationError when it is out of range.
func ClampMaxItems(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultMaxItems, nil
	case n < 0 || n > MaxMaxItems:
		return 0, Errorf(ValidationError, "MaxItems %d must be between 1 and %d", n, MaxMaxItems)
	}
	return n, nil
}
