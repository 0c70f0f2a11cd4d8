package registry

import (
	"context"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/tenant"
)

// Service is the registry of one account. Every method takes the caller's
// tenant ("" for a platform principal): a tenant's caller creates groups
// of its tenant only, in its name space, and another tenant's group or
// package, or the platform's, answers exactly as a missing one.
type Service struct {
	Store     Store
	Region    string
	AccountID string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Images, when set, checks each container's image (the control plane's
	// serving.Checker): a package names only images this platform runs.
	Images interface{ CheckImage(image string) error }
	// Approvals, when set, is told of every package that becomes
	// Approved (the promotion runner starts its pipelines' runs); its
	// error is logged by it, never failing the update.
	Approvals ApprovalListener
}

// ApprovalListener is told when a package of a group becomes Approved.
type ApprovalListener interface {
	PackageApproved(ctx context.Context, acct, tenantID, group, packageARN string, version int) error
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// visible reports whether a caller of tenant caller may see a row of
// tenant owner: a platform caller sees every row, a tenant's caller only
// its own tenant's.
func visible(caller, owner string) bool { return caller == "" || owner == caller }

// ErrGroupNotFound is the answer for a group that does not exist or that
// the caller may not see.
func (s *Service) ErrGroupNotFound(name string) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationException", "Could not find model package group %q.", GroupARN(s.Region, s.AccountID, name))
}

// ErrPackageNotFound is the answer for a package that does not exist or
// that the caller may not see.
func (s *Service) ErrPackageNotFound(ref PackageRef) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationException", "Could not find model package %q.", PackageARN(s.Region, s.AccountID, ref.Group, ref.Version))
}

// CheckTags validates resource tags as SageMaker does.
func CheckTags(tags map[string]string) error {
	if len(tags) > serving.MaxTags {
		return validation("at most %d tags", serving.MaxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return validation("tag keys must be 1-128 characters not beginning with aws:, values at most 256")
		}
	}
	return tenant.ValidateTags(tags)
}

// withTenantTag returns tags with the owner's TenantID tag, so that
// aws:ResourceTag/TenantID always names the owner.
func withTenantTag(tags map[string]string, owner string) map[string]string {
	out := make(map[string]string, len(tags)+1)
	for k, v := range tags {
		if !strings.EqualFold(k, tenant.TagKey) {
			out[k] = v
		}
	}
	if owner != "" {
		out[tenant.TagKey] = owner
	}
	return out
}

// CreateGroup validates and stores a group created by by.
func (s *Service) CreateGroup(ctx context.Context, callerTenant string, by UserContext, g *Group) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if err := serving.CheckTenantName(callerTenant, "modelPackageGroupName", g.Name); err != nil {
		return err
	}
	if err := CheckTags(g.Tags); err != nil {
		return err
	}
	owner, err := serving.OwnerOf(callerTenant, g.Tags)
	if err != nil {
		return err
	}
	g.AccountID, g.Tenant, g.CreatedBy, g.Policy, g.LatestVersion = s.AccountID, owner, by, "", 0
	g.ARN = GroupARN(s.Region, s.AccountID, g.Name)
	g.Tags = withTenantTag(g.Tags, owner)
	if err := s.Store.CreateGroup(ctx, g); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			return validation("Model Package Group already exists: %s", g.ARN)
		}
		return err
	}
	return nil
}

// DescribeGroup returns a group the caller may see.
func (s *Service) DescribeGroup(ctx context.Context, callerTenant, name string) (*Group, error) {
	if err := ValidateGroupName(name); err != nil {
		return nil, err
	}
	g, err := s.Store.GetGroup(ctx, s.AccountID, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(callerTenant, g.Tenant)) {
		return nil, s.ErrGroupNotFound(name)
	}
	return g, err
}

// ListGroups lists the caller's tenant's groups (every group for a
// platform caller).
func (s *Service) ListGroups(ctx context.Context, callerTenant string, f GroupFilter) ([]*Group, string, error) {
	f.Tenant = callerTenant
	return s.Store.ListGroups(ctx, s.AccountID, f)
}

// DeleteGroup deletes an empty group the caller may see.
func (s *Service) DeleteGroup(ctx context.Context, callerTenant, name string) error {
	g, err := s.DescribeGroup(ctx, callerTenant, name)
	if err != nil {
		return err
	}
	err = s.Store.DeleteGroup(ctx, s.AccountID, name)
	switch tenantml.ErrorCode(err) {
	case tenantml.ENOTFOUND:
		return s.ErrGroupNotFound(name)
	case tenantml.ECONFLICT:
		return tenantml.AWSErrorf(tenantml.ECONFLICT, "ConflictException", "Model package group %s still holds model packages: delete them first.", g.ARN)
	}
	return err
}

// updateGroup runs fn on a group the caller may see.
func (s *Service) updateGroup(ctx context.Context, callerTenant, name string, fn func(*Group) error) error {
	if err := ValidateGroupName(name); err != nil {
		return err
	}
	hidden := false
	err := s.Store.UpdateGroup(ctx, s.AccountID, name, func(g *Group) error {
		if !visible(callerTenant, g.Tenant) {
			hidden = true
			return s.ErrGroupNotFound(name)
		}
		return fn(g)
	})
	if hidden || tenantml.ErrorCode(err) == tenantml.ENOTFOUND && !isOwnError(err) {
		return s.ErrGroupNotFound(name)
	}
	return err
}

// isOwnError reports whether err is an answer of fn (an AWS-coded error)
// rather than the store's.
func isOwnError(err error) bool {
	e, ok := err.(*tenantml.Error)
	return ok && e.AWSCode != ""
}

// PutGroupPolicy sets the group's resource policy; the caller (the API)
// has parsed and validated doc.
func (s *Service) PutGroupPolicy(ctx context.Context, callerTenant, name, doc string) error {
	if doc == "" || len(doc) > MaxPolicyLength {
		return validation("ResourcePolicy must be 1 to %d characters", MaxPolicyLength)
	}
	return s.updateGroup(ctx, callerTenant, name, func(g *Group) error { g.Policy = doc; return nil })
}

// GetGroupPolicy returns the group's resource policy.
func (s *Service) GetGroupPolicy(ctx context.Context, callerTenant, name string) (string, error) {
	g, err := s.DescribeGroup(ctx, callerTenant, name)
	if err != nil {
		return "", err
	}
	if g.Policy == "" {
		return "", validation("Model package group %s has no resource policy.", g.ARN)
	}
	return g.Policy, nil
}

// DeleteGroupPolicy removes the group's resource policy.
func (s *Service) DeleteGroupPolicy(ctx context.Context, callerTenant, name string) error {
	return s.updateGroup(ctx, callerTenant, name, func(g *Group) error {
		if g.Policy == "" {
			return validation("Model package group %s has no resource policy.", g.ARN)
		}
		g.Policy = ""
		return nil
	})
}

// CreatePackage registers p, by by, as the next version of its group,
// which the caller must see. Its containers' model data must already be
// pinned (the API reads each object as the caller may). The approval
// status defaults to PendingManualApproval.
func (s *Service) CreatePackage(ctx context.Context, callerTenant string, by UserContext, p *Package) error {
	if p.ApprovalStatus == "" {
		p.ApprovalStatus = PendingManualApproval
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if s.Images != nil {
		for i, c := range p.Inference.Containers {
			if err := s.Images.CheckImage(c.Image); err != nil {
				return validation("InferenceSpecification.Containers.%d.Image %q: %s", i+1, truncate(c.Image), tenantml.ErrorMessage(err))
			}
		}
	}
	if err := CheckTags(p.Tags); err != nil {
		return err
	}
	g, err := s.DescribeGroup(ctx, callerTenant, p.GroupName)
	if err != nil {
		return err
	}
	if v, ok := tenantTag(p.Tags); ok && v != g.Tenant {
		return validation("the %s tag of a model package must be its group's tenant", tenant.TagKey)
	}
	now := s.now()
	p.AccountID, p.Tenant, p.CreatedBy = s.AccountID, g.Tenant, by
	p.GroupName = g.Name
	p.ApprovalModifiedBy, p.ApprovalModifiedAt = by, now
	p.LastModifiedAt, p.LastModifiedBy = time.Time{}, UserContext{}
	p.Tags = withTenantTag(p.Tags, g.Tenant)
	if err := s.Store.CreatePackage(ctx, p); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return s.ErrGroupNotFound(p.GroupName)
		}
		return err
	}
	return nil
}

func tenantTag(tags map[string]string) (string, bool) {
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) {
			return v, true
		}
	}
	return "", false
}

// DescribePackage returns a package the caller may see.
func (s *Service) DescribePackage(ctx context.Context, callerTenant string, ref PackageRef) (*Package, error) {
	p, err := s.Store.GetPackage(ctx, s.AccountID, ref.Group, ref.Version)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(callerTenant, p.Tenant)) {
		return nil, s.ErrPackageNotFound(ref)
	}
	return p, err
}

// ListPackages lists the caller's tenant's packages.
func (s *Service) ListPackages(ctx context.Context, callerTenant string, f PackageFilter) ([]*Package, string, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", validation("ModelApprovalStatus must be PendingManualApproval, Approved or Rejected")
	}
	if f.Group != "" {
		if err := ValidateGroupName(f.Group); err != nil {
			return nil, "", err
		}
	}
	f.Tenant = callerTenant
	return s.Store.ListPackages(ctx, s.AccountID, f)
}

// PackageUpdate is what UpdateModelPackage may change; nil fields are
// left as they are.
type PackageUpdate struct {
	ApprovalStatus      *ApprovalStatus
	ApprovalDescription *string
	// SetMetadata adds or replaces customer metadata properties;
	// RemoveMetadata removes keys.
	SetMetadata    map[string]string
	RemoveMetadata []string
}

// UpdatePackage applies u to a package the caller may see, recording by
// as its last modifier (and, when the approval status is set, as the one
// who set it).
func (s *Service) UpdatePackage(ctx context.Context, callerTenant string, by UserContext, ref PackageRef, u PackageUpdate) (*Package, error) {
	if u.ApprovalStatus != nil && !u.ApprovalStatus.Valid() {
		return nil, validation("ModelApprovalStatus must be PendingManualApproval, Approved or Rejected")
	}
	if u.ApprovalDescription != nil {
		if err := text("ApprovalDescription", *u.ApprovalDescription, MaxApprovalDesc); err != nil {
			return nil, err
		}
	}
	if err := ValidateMetadata(u.SetMetadata); err != nil {
		return nil, err
	}
	if len(u.RemoveMetadata) > MaxCustomerMetadata {
		return nil, validation("CustomerMetadataPropertiesToRemove: at most %d keys", MaxCustomerMetadata)
	}
	var out *Package
	hidden, approved := false, false
	err := s.Store.UpdatePackage(ctx, s.AccountID, ref.Group, ref.Version, func(p *Package) error {
		if !visible(callerTenant, p.Tenant) {
			hidden = true
			return s.ErrPackageNotFound(ref)
		}
		approved = u.ApprovalStatus != nil && *u.ApprovalStatus == Approved && p.ApprovalStatus != Approved
		now := s.now()
		if u.ApprovalStatus != nil {
			p.ApprovalStatus, p.ApprovalModifiedBy, p.ApprovalModifiedAt = *u.ApprovalStatus, by, now
		}
		if u.ApprovalDescription != nil {
			p.ApprovalDescription = *u.ApprovalDescription
		}
		if len(u.SetMetadata) > 0 || len(u.RemoveMetadata) > 0 {
			md := make(map[string]string, len(p.CustomerMetadata)+len(u.SetMetadata))
			for k, v := range p.CustomerMetadata {
				md[k] = v
			}
			for _, k := range u.RemoveMetadata {
				delete(md, k)
			}
			for k, v := range u.SetMetadata {
				md[k] = v
			}
			if err := ValidateMetadata(md); err != nil {
				return err
			}
			p.CustomerMetadata = md
		}
		p.LastModifiedAt, p.LastModifiedBy = now, by
		out = p
		return nil
	})
	if hidden || (tenantml.ErrorCode(err) == tenantml.ENOTFOUND && !isOwnError(err)) {
		return nil, s.ErrPackageNotFound(ref)
	}
	if err != nil {
		return nil, err
	}
	if approved && s.Approvals != nil {
		_ = s.Approvals.PackageApproved(ctx, s.AccountID, out.Tenant, out.GroupName, out.ARN, out.Version)
	}
	return out, nil
}

// DeletePackage deletes a package the caller may see.
func (s *Service) DeletePackage(ctx context.Context, callerTenant string, ref PackageRef) error {
	if _, err := s.DescribePackage(ctx, callerTenant, ref); err != nil {
		return err
	}
	err := s.Store.DeletePackage(ctx, s.AccountID, ref.Group, ref.Version)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return s.ErrPackageNotFound(ref)
	}
	return err
}

// Owner is what authorization needs of a registry resource: its tenant,
// its tags and its group's resource policy.
type Owner struct {
	Tenant string
	Tags   map[string]string
	Policy string
}

// Resource resolves a group (KindGroup, its name) or a package
// (KindPackage, "<group>/<version>") for authorization, whoever owns it;
// ENOTFOUND when it does not exist.
func (s *Service) Resource(ctx context.Context, kind serving.ResourceKind, name string) (Owner, error) {
	switch kind {
	case KindGroup:
		g, err := s.Store.GetGroup(ctx, s.AccountID, name)
		if err != nil {
			return Owner{}, err
		}
		return Owner{Tenant: g.Tenant, Tags: g.Tags, Policy: g.Policy}, nil
	case KindPackage:
		ref, _, err := ParsePackageName(s.Region, s.AccountID, name)
		if err != nil {
			return Owner{}, tenantml.Errorf(tenantml.ENOTFOUND, "no such model package")
		}
		p, err := s.Store.GetPackage(ctx, s.AccountID, ref.Group, ref.Version)
		if err != nil {
			return Owner{}, err
		}
		g, err := s.Store.GetGroup(ctx, s.AccountID, ref.Group)
		if err != nil {
			return Owner{}, err
		}
		return Owner{Tenant: p.Tenant, Tags: p.Tags, Policy: g.Policy}, nil
	}
	return Owner{}, tenantml.Errorf(tenantml.ENOTFOUND, "no such registry resource kind %q", kind)
}

// ErrNotFound is the answer for a registry resource of kind named name
// ("<group>/<version>" for a package) that is missing or hidden.
func (s *Service) ErrNotFound(kind serving.ResourceKind, name string) error {
	if kind == KindPackage {
		if ref, _, err := ParsePackageName(s.Region, s.AccountID, name); err == nil {
			return s.ErrPackageNotFound(ref)
		}
	}
	return s.ErrGroupNotFound(name)
}

// AddTags adds or replaces tags of a group or package the caller may see;
// the TenantID tag cannot change.
func (s *Service) AddTags(ctx context.Context, callerTenant string, kind serving.ResourceKind, name string, tags map[string]string) error {
	if err := CheckTags(tags); err != nil {
		return err
	}
	return s.retag(ctx, callerTenant, kind, name, func(owner string, cur map[string]string) (map[string]string, error) {
		if v, ok := tenantTag(tags); ok && v != owner {
			return nil, validation("the %s tag of a resource is its tenant: it cannot change", tenant.TagKey)
		}
		out := map[string]string{}
		for k, v := range cur {
			out[k] = v
		}
		for k, v := range tags {
			for old := range out {
				if strings.EqualFold(old, k) {
					delete(out, old)
				}
			}
			out[k] = v
		}
		if len(out) > serving.MaxTags {
			return nil, validation("at most %d tags", serving.MaxTags)
		}
		return out, nil
	})
}

// DeleteTags removes tags of a group or package the caller may see; the
// TenantID tag cannot be removed.
func (s *Service) DeleteTags(ctx context.Context, callerTenant string, kind serving.ResourceKind, name string, keys []string) error {
	return s.retag(ctx, callerTenant, kind, name, func(owner string, cur map[string]string) (map[string]string, error) {
		out := map[string]string{}
		for k, v := range cur {
			out[k] = v
		}
		for _, k := range keys {
			if strings.EqualFold(k, tenant.TagKey) && owner != "" {
				return nil, validation("the %s tag of a resource is its tenant: it cannot be removed", tenant.TagKey)
			}
			for old := range out {
				if strings.EqualFold(old, k) {
					delete(out, old)
				}
			}
		}
		return out, nil
	})
}

// ListTags returns the tags of a group or package the caller may see.
func (s *Service) ListTags(ctx context.Context, callerTenant string, kind serving.ResourceKind, name string) (map[string]string, error) {
	o, err := s.Resource(ctx, kind, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(callerTenant, o.Tenant)) {
		return nil, s.ErrNotFound(kind, name)
	}
	return o.Tags, err
}

func (s *Service) retag(ctx context.Context, callerTenant string, kind serving.ResourceKind, name string, fn func(owner string, cur map[string]string) (map[string]string, error)) error {
	switch kind {
	case KindGroup:
		return s.updateGroup(ctx, callerTenant, name, func(g *Group) error {
			tags, err := fn(g.Tenant, g.Tags)
			g.Tags = tags
			return err
		})
	case KindPackage:
		ref, _, err := ParsePackageName(s.Region, s.AccountID, name)
		if err != nil {
			return s.ErrNotFound(kind, name)
		}
		hidden := false
		err = s.Store.UpdatePackage(ctx, s.AccountID, ref.Group, ref.Version, func(p *Package) error {
			if !visible(callerTenant, p.Tenant) {
				hidden = true
				return s.ErrPackageNotFound(ref)
			}
			tags, err := fn(p.Tenant, p.Tags)
			p.Tags = tags
			return err
		})
		if hidden || (tenantml.ErrorCode(err) == tenantml.ENOTFOUND && !isOwnError(err)) {
			return s.ErrPackageNotFound(ref)
		}
		return err
	}
	return s.ErrNotFound(kind, name)
}
