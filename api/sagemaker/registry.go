package sagemaker

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/serving"
)

// The model registry's operations: model package groups, their resource
// policies and their versioned model packages, in SageMaker's shapes.
// Every operation on a group is decided on the group's ARN, every
// operation on a package on the package's ARN, with the resource's tags
// and the group's resource policy; CreateModelPackage is decided on its
// group's ARN (the version it creates is not known before).

type groupInput struct {
	ModelPackageGroupName        string `json:"ModelPackageGroupName"`
	ModelPackageGroupDescription string `json:"ModelPackageGroupDescription"`
	ResourcePolicy               string `json:"ResourcePolicy"`
	Tags                         []tag  `json:"Tags"`
}

type pkgContainerJSON struct {
	ContainerHostname string            `json:"ContainerHostname,omitempty"`
	Image             string            `json:"Image"`
	ModelDataURL      string            `json:"ModelDataUrl,omitempty"`
	ModelDataETag     string            `json:"ModelDataETag,omitempty"`
	Environment       map[string]string `json:"Environment,omitempty"`
	Framework         string            `json:"Framework,omitempty"`
	FrameworkVersion  string            `json:"FrameworkVersion,omitempty"`
	// ModelDataSha256 and ModelDataSize are tenantml's: the pin.
	ModelDataSHA256 string `json:"ModelDataSha256,omitempty"`
	ModelDataSize   int64  `json:"ModelDataSize,omitempty"`
}

type inferenceSpecJSON struct {
	Containers                              []pkgContainerJSON `json:"Containers"`
	SupportedTransformInstanceTypes         []string           `json:"SupportedTransformInstanceTypes,omitempty"`
	SupportedRealtimeInferenceInstanceTypes []string           `json:"SupportedRealtimeInferenceInstanceTypes,omitempty"`
	SupportedContentTypes                   []string           `json:"SupportedContentTypes,omitempty"`
	SupportedResponseMIMETypes              []string           `json:"SupportedResponseMIMETypes,omitempty"`
}

type metricsSourceJSON struct {
	ContentType   string `json:"ContentType"`
	ContentDigest string `json:"ContentDigest,omitempty"`
	S3URI         string `json:"S3Uri"`
}

// modelMetricsJSON is SageMaker's ModelMetrics: sections of reports.
type modelMetricsJSON map[string]map[string]metricsSourceJSON

type createPackageInput struct {
	ModelPackageGroupName      string             `json:"ModelPackageGroupName"`
	ModelPackageName           string             `json:"ModelPackageName"`
	ModelPackageDescription    string             `json:"ModelPackageDescription"`
	InferenceSpecification     *inferenceSpecJSON `json:"InferenceSpecification"`
	ModelMetrics               modelMetricsJSON   `json:"ModelMetrics"`
	ModelApprovalStatus        string             `json:"ModelApprovalStatus"`
	CustomerMetadataProperties map[string]string  `json:"CustomerMetadataProperties"`
	Tags                       []tag              `json:"Tags"`
	ClientToken                string             `json:"ClientToken"`
}

type packageInput struct {
	ModelPackageName                   string             `json:"ModelPackageName"`
	ModelPackageArn                    string             `json:"ModelPackageArn"`
	ModelApprovalStatus                *string            `json:"ModelApprovalStatus"`
	ApprovalDescription                *string            `json:"ApprovalDescription"`
	CustomerMetadataProperties         map[string]string  `json:"CustomerMetadataProperties"`
	CustomerMetadataPropertiesToRemove []string           `json:"CustomerMetadataPropertiesToRemove"`
	InferenceSpecification             *inferenceSpecJSON `json:"InferenceSpecification"`
	ClientToken                        string             `json:"ClientToken"`
}

type listPackagesInput struct {
	listInput
	ModelApprovalStatus   string `json:"ModelApprovalStatus"`
	ModelPackageGroupName string `json:"ModelPackageGroupName"`
	ModelPackageType      string `json:"ModelPackageType"`
}

// registryOperations maps each registry operation to its resource and work.
func (s *Surface) registryOperations() map[string]op {
	group := func(in any) string { return in.(*groupInput).ModelPackageGroupName }
	groups := func() any { return new(groupInput) }
	pkgName := func(in any) string {
		x := in.(*packageInput)
		if x.ModelPackageArn != "" {
			return x.ModelPackageArn
		}
		return x.ModelPackageName
	}
	pkgs := func() any { return new(packageInput) }
	return map[string]op{
		"CreateModelPackageGroup": {newInput: groups, kind: registry.KindGroup, name: group, create: true,
			tags: func(in any) ([]tag, []string) { return in.(*groupInput).Tags, nil },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				x := in.(*groupInput)
				g := &registry.Group{Name: x.ModelPackageGroupName, Description: x.ModelPackageGroupDescription, Tags: tagMap(x.Tags)}
				if err := s.reg(c).CreateGroup(r.Context(), c.TenantID, userOf(c), g); err != nil {
					return nil, err
				}
				return map[string]any{"ModelPackageGroupArn": g.ARN}, nil
			}},
		"DescribeModelPackageGroup": {newInput: groups, kind: registry.KindGroup, name: group,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				g, err := s.reg(c).DescribeGroup(r.Context(), c.TenantID, group(in))
				if err != nil {
					return nil, err
				}
				out := groupSummary(g)
				out["CreatedBy"] = userContextOut(g.CreatedBy)
				return out, nil
			}},
		"DeleteModelPackageGroup": {newInput: groups, kind: registry.KindGroup, name: group,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return struct{}{}, s.reg(c).DeleteGroup(r.Context(), c.TenantID, group(in))
			}},
		"ListModelPackageGroups": {newInput: func() any { return new(listInput) }, handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
			f, err := in.(*listInput).registryFilter()
			if err != nil {
				return nil, err
			}
			gs, next, err := s.reg(c).ListGroups(r.Context(), c.TenantID, registry.GroupFilter{ListFilter: f})
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(gs))
			for _, g := range gs {
				out = append(out, groupSummary(g))
			}
			return withNext(map[string]any{"ModelPackageGroupSummaryList": out}, next), nil
		}},
		"PutModelPackageGroupPolicy": {newInput: groups, kind: registry.KindGroup, name: group,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				x := in.(*groupInput)
				if _, err := s.Policies.Parse(x.ResourcePolicy, iam.KindResource); err != nil {
					return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ResourcePolicy is not a valid resource policy: %s", truncate(tenantml.ErrorMessage(err)))
				}
				if err := s.reg(c).PutGroupPolicy(r.Context(), c.TenantID, x.ModelPackageGroupName, x.ResourcePolicy); err != nil {
					return nil, err
				}
				return map[string]any{"ModelPackageGroupArn": registry.GroupARN(s.reg(c).Region, s.reg(c).AccountID, x.ModelPackageGroupName)}, nil
			}},
		"GetModelPackageGroupPolicy": {newInput: groups, kind: registry.KindGroup, name: group,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				doc, err := s.reg(c).GetGroupPolicy(r.Context(), c.TenantID, group(in))
				if err != nil {
					return nil, err
				}
				return map[string]any{"ResourcePolicy": doc}, nil
			}},
		"DeleteModelPackageGroupPolicy": {newInput: groups, kind: registry.KindGroup, name: group,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return struct{}{}, s.reg(c).DeleteGroupPolicy(r.Context(), c.TenantID, group(in))
			}},
		"CreateModelPackage": {newInput: func() any { return new(createPackageInput) }, kind: registry.KindGroup,
			name: func(in any) string { return in.(*createPackageInput).ModelPackageGroupName },
			tags: func(in any) ([]tag, []string) { return in.(*createPackageInput).Tags, nil },
			keys: func(in any) iam.Context {
				st := in.(*createPackageInput).ModelApprovalStatus
				if st == "" {
					st = string(registry.PendingManualApproval)
				}
				return approvalKey(&st)
			},
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.createModelPackage(r, c, in.(*createPackageInput))
			}},
		"DescribeModelPackage": {newInput: pkgs, kind: registry.KindPackage, name: pkgName,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				ref, err := s.packageRef(c, pkgName(in))
				if err != nil {
					return nil, err
				}
				p, err := s.reg(c).DescribePackage(r.Context(), c.TenantID, ref)
				if err != nil {
					return nil, err
				}
				return describePackage(p), nil
			}},
		"UpdateModelPackage": {newInput: pkgs, kind: registry.KindPackage, name: pkgName,
			keys: func(in any) iam.Context { return approvalKey(in.(*packageInput).ModelApprovalStatus) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.updateModelPackage(r, c, in.(*packageInput), pkgName(in))
			}},
		"DeleteModelPackage": {newInput: pkgs, kind: registry.KindPackage, name: pkgName,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				ref, err := s.packageRef(c, pkgName(in))
				if err != nil {
					return nil, err
				}
				return struct{}{}, s.reg(c).DeletePackage(r.Context(), c.TenantID, ref)
			}},
		"ListModelPackages": {newInput: func() any { return new(listPackagesInput) }, handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
			return s.listModelPackages(r, c, in.(*listPackagesInput))
		}},
	}
}

// approvalKey is the condition key sagemaker:ModelApprovalStatus of a
// request that sets the approval status (none when it does not), so that
// a policy can let a principal register or update packages but not
// approve them.
func approvalKey(status *string) iam.Context {
	if status == nil {
		return nil
	}
	return iam.Context{iam.Single("sagemaker:ModelApprovalStatus", truncate(*status))}
}

// registryTarget resolves a group or a package for the pipeline: its ARN,
// tenant, tags and the group's resource policy. A malformed name is
// refused before authorization; a package ARN of another account or
// region is a missing package.
func (s *Surface) registryTarget(r *http.Request, c *authn.Principal, kind serving.ResourceKind, name string, create, ours bool, t *api.Target) (*api.Target, error) {
	return s.registryTargetIn(r, c, s.reg(c), kind, name, create, ours, t)
}

// registryTargetIn is registryTarget in the registry reg (of the caller's
// account, or of the account owning a package a model is created from).
func (s *Surface) registryTargetIn(r *http.Request, c *authn.Principal, reg *registry.Service, kind serving.ResourceKind, name string, create, ours bool, t *api.Target) (*api.Target, error) {
	if reg == nil {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ResourceArn: %q names no resource of this service", truncate(name))
	}
	switch kind {
	case registry.KindGroup:
		if err := registry.ValidateGroupName(name); err != nil {
			return nil, err
		}
		t.ARN = registry.GroupARN(reg.Region, reg.AccountID, name)
	default:
		ref, own, err := registry.ParsePackageName(reg.Region, reg.AccountID, name)
		if err != nil {
			return nil, err
		}
		ours, name = ours && own, ref.Group+"/"+strconv.Itoa(ref.Version)
		t.ARN = registry.PackageARN(reg.Region, reg.AccountID, ref.Group, ref.Version)
	}
	t.Parameters = map[string]any{"name": name}
	if create {
		return t, nil
	}
	t.NotFound = reg.ErrNotFound(kind, name)
	if !ours {
		return t, nil
	}
	o, err := reg.Resource(r.Context(), kind, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	if c.TenantID != "" && o.Tenant == "" {
		// The platform's groups are missing ones to a tenant's principal.
		t.Hide = t.NotFound
		return t, nil
	}
	t.Tenant, t.Tags = o.Tenant, o.Tags
	if o.Policy != "" {
		pol, err := s.Policies.Parse(o.Policy, iam.KindResource)
		if err != nil {
			return nil, fmt.Errorf("parse resource policy of %s: %w", t.ARN, err)
		}
		t.Policy = pol
	}
	return t, nil
}

// packageRef reads a package name of a request (an ARN of this account
// and region, or "<group>/<version>").
func (s *Surface) packageRef(c *authn.Principal, name string) (registry.PackageRef, error) {
	reg := s.reg(c)
	if name == "" {
		return registry.PackageRef{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "1 validation error detected: ModelPackageName must not be null")
	}
	ref, ours, err := registry.ParsePackageName(reg.Region, reg.AccountID, name)
	if err != nil {
		return ref, err
	}
	if !ours {
		return ref, reg.ErrPackageNotFound(ref)
	}
	return ref, nil
}

// userOf is the caller as the registry records it.
func userOf(c *authn.Principal) registry.UserContext {
	return registry.UserContext{ARN: c.ARN, PrincipalID: c.UserID}
}

func userContextOut(u registry.UserContext) map[string]any {
	if u.ARN == "" {
		return nil
	}
	return map[string]any{"IamIdentity": map[string]any{"Arn": u.ARN, "PrincipalId": u.PrincipalID}}
}

func groupSummary(g *registry.Group) map[string]any {
	out := map[string]any{"ModelPackageGroupName": g.Name, "ModelPackageGroupArn": g.ARN, "CreationTime": epoch(g.CreatedAt),
		"ModelPackageGroupStatus": "Completed"}
	if g.Description != "" {
		out["ModelPackageGroupDescription"] = g.Description
	}
	return out
}

// registryFilter converts a list input to the registry's filter.
func (l *listInput) registryFilter() (registry.ListFilter, error) {
	sf, err := l.filter()
	if err != nil {
		return registry.ListFilter{}, err
	}
	if l.StatusEquals != "" {
		return registry.ListFilter{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "StatusEquals is not a parameter of this operation")
	}
	return registry.ListFilter{NameContains: sf.NameContains, CreatedAfter: sf.CreatedAfter, CreatedBefore: sf.CreatedBefore,
		SortByCreationTime: sf.SortByCreationTime, Descending: sf.Descending, Limit: sf.Limit, After: sf.After}, nil
}

// listModelPackages answers ListModelPackages: versioned packages only.
func (s *Surface) listModelPackages(r *http.Request, c *authn.Principal, in *listPackagesInput) (any, error) {
	f, err := in.registryFilter()
	if err != nil {
		return nil, err
	}
	switch in.ModelPackageType {
	case "", "Versioned", "Both":
	case "Unversioned":
		return map[string]any{"ModelPackageSummaryList": []any{}}, nil
	default:
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ModelPackageType must be Versioned, Unversioned or Both")
	}
	pf := registry.PackageFilter{ListFilter: f, Status: registry.ApprovalStatus(in.ModelApprovalStatus)}
	if g := in.ModelPackageGroupName; g != "" {
		if strings.HasPrefix(g, "arn:") {
			a, err := arn.Parse(g)
			if err != nil || a.Service != "sagemaker" || !strings.HasPrefix(a.Resource, string(registry.KindGroup)+"/") {
				return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ModelPackageGroupName %q is not a model package group name or ARN", truncate(g))
			}
			if a.AccountID != c.Account || a.Region != s.Registry.Region {
				return map[string]any{"ModelPackageSummaryList": []any{}}, nil
			}
			g = strings.TrimPrefix(a.Resource, string(registry.KindGroup)+"/")
		}
		pf.Group = g
	}
	ps, next, err := s.reg(c).ListPackages(r.Context(), c.TenantID, pf)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		out = append(out, packageSummary(p))
	}
	return withNext(map[string]any{"ModelPackageSummaryList": out}, next), nil
}

func packageSummary(p *registry.Package) map[string]any {
	out := map[string]any{"ModelPackageName": p.GroupName, "ModelPackageGroupName": p.GroupName, "ModelPackageVersion": p.Version,
		"ModelPackageArn": p.ARN, "CreationTime": epoch(p.CreatedAt), "ModelPackageStatus": "Completed", "ModelApprovalStatus": string(p.ApprovalStatus)}
	if p.Description != "" {
		out["ModelPackageDescription"] = p.Description
	}
	return out
}

// describePackage is DescribeModelPackage's answer. Besides SageMaker's
// fields it carries tenantml's ApprovalModifiedBy and ApprovalModifiedTime
// (who last set the approval status, and when), and each container's
// pinned ModelDataSha256 and ModelDataSize.
func describePackage(p *registry.Package) map[string]any {
	out := packageSummary(p)
	spec := inferenceSpecJSON{
		SupportedTransformInstanceTypes:         p.Inference.SupportedTransformInstanceTypes,
		SupportedRealtimeInferenceInstanceTypes: p.Inference.SupportedRealtimeInferenceInstanceTypes,
		SupportedContentTypes:                   p.Inference.SupportedContentTypes,
		SupportedResponseMIMETypes:              p.Inference.SupportedResponseMIMETypes,
	}
	for _, ct := range p.Inference.Containers {
		spec.Containers = append(spec.Containers, pkgContainerJSON{Image: ct.Image, ModelDataURL: ct.ModelDataURL, ModelDataETag: ct.ModelDataETag,
			Environment: ct.Environment, Framework: ct.Framework, FrameworkVersion: ct.FrameworkVersion,
			ModelDataSHA256: ct.ModelDataSHA256, ModelDataSize: ct.ModelDataSize})
	}
	out["InferenceSpecification"] = spec
	out["ModelPackageStatusDetails"] = map[string]any{"ValidationStatuses": []any{}}
	out["CertifyForMarketplace"] = false
	out["CreatedBy"] = userContextOut(p.CreatedBy)
	if !p.LastModifiedAt.IsZero() {
		out["LastModifiedTime"] = epoch(p.LastModifiedAt)
		out["LastModifiedBy"] = userContextOut(p.LastModifiedBy)
	}
	if p.ApprovalDescription != "" {
		out["ApprovalDescription"] = p.ApprovalDescription
	}
	if len(p.CustomerMetadata) > 0 {
		out["CustomerMetadataProperties"] = p.CustomerMetadata
	}
	if len(p.Metrics) > 0 {
		m := modelMetricsJSON{}
		for k, v := range p.Metrics {
			section, report, _ := strings.Cut(k, ".")
			if m[section] == nil {
				m[section] = map[string]metricsSourceJSON{}
			}
			m[section][report] = metricsSourceJSON(v)
		}
		out["ModelMetrics"] = m
	}
	out["ApprovalModifiedBy"] = userContextOut(p.ApprovalModifiedBy)
	out["ApprovalModifiedTime"] = epoch(p.ApprovalModifiedAt)
	return out
}

// createModelPackage registers a package version once every container's
// model data is pinned: the caller must be able to read each object
// (s3:GetObject on it, with its bucket's policy, and kms:Decrypt on its
// key, with the key's policy), and the package records its SHA-256 and
// size.
func (s *Surface) createModelPackage(r *http.Request, c *authn.Principal, in *createPackageInput) (any, error) {
	if in.ModelPackageName != "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException",
			"ModelPackageName: tenantml registers versioned model packages only; name the ModelPackageGroupName and leave ModelPackageName out")
	}
	if in.InferenceSpecification == nil {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "InferenceSpecification is required")
	}
	spec := in.InferenceSpecification
	p := &registry.Package{GroupName: in.ModelPackageGroupName, Description: in.ModelPackageDescription,
		ApprovalStatus: registry.ApprovalStatus(in.ModelApprovalStatus), CustomerMetadata: in.CustomerMetadataProperties, Tags: tagMap(in.Tags),
		Inference: registry.InferenceSpecification{
			SupportedContentTypes: spec.SupportedContentTypes, SupportedResponseMIMETypes: spec.SupportedResponseMIMETypes,
			SupportedRealtimeInferenceInstanceTypes: spec.SupportedRealtimeInferenceInstanceTypes, SupportedTransformInstanceTypes: spec.SupportedTransformInstanceTypes,
		}}
	if len(in.ModelMetrics) > 0 {
		p.Metrics = map[string]registry.MetricsSource{}
		for section, reports := range in.ModelMetrics {
			for report, src := range reports {
				p.Metrics[section+"."+report] = registry.MetricsSource(src)
			}
		}
	}
	// Validate before reading any object, so that bad input costs nothing.
	for _, ct := range spec.Containers {
		p.Inference.Containers = append(p.Inference.Containers, registry.Container{Image: ct.Image, ModelDataURL: ct.ModelDataURL,
			Environment: ct.Environment, Framework: ct.Framework, FrameworkVersion: ct.FrameworkVersion})
	}
	probe := *p
	probe.Inference.Containers = make([]registry.Container, len(p.Inference.Containers))
	for i, ct := range p.Inference.Containers {
		if ct.ModelDataURL != "" {
			ct.ModelDataSHA256 = strings.Repeat("0", 64)
		}
		probe.Inference.Containers[i] = ct
	}
	if probe.ApprovalStatus == "" {
		probe.ApprovalStatus = registry.PendingManualApproval
	}
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	// The group first: a missing one (or another tenant's) answers the
	// same, before any object is looked at.
	if _, err := s.reg(c).DescribeGroup(r.Context(), c.TenantID, in.ModelPackageGroupName); err != nil {
		return nil, err
	}
	for i := range p.Inference.Containers {
		ct := &p.Inference.Containers[i]
		if ct.ModelDataURL == "" {
			continue
		}
		pin, err := s.pinModelData(r, c, ct.ModelDataURL)
		if err != nil {
			return nil, err
		}
		if want := strings.Trim(spec.Containers[i].ModelDataETag, `"`); want != "" && want != pin.ETag {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ModelDataETag %q of container %d differs from the object's ETag %q", truncate(want), i+1, pin.ETag)
		}
		ct.ModelDataSHA256, ct.ModelDataSize, ct.ModelDataETag = pin.SHA256, pin.Size, pin.ETag
	}
	if err := s.reg(c).CreatePackage(r.Context(), c.TenantID, userOf(c), p); err != nil {
		return nil, err
	}
	return map[string]any{"ModelPackageArn": p.ARN}, nil
}

// updateModelPackage changes a package's approval status, approval
// description or customer metadata. Its inference specification is fixed:
// what is deployed is what was registered (and approved).
func (s *Surface) updateModelPackage(r *http.Request, c *authn.Principal, in *packageInput, name string) (any, error) {
	if in.ModelPackageArn == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "1 validation error detected: ModelPackageArn must not be null")
	}
	ref, err := s.packageRef(c, name)
	if err != nil {
		return nil, err
	}
	if in.InferenceSpecification != nil {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "the InferenceSpecification of a registered model package cannot change: register a new version")
	}
	u := registry.PackageUpdate{ApprovalDescription: in.ApprovalDescription, SetMetadata: in.CustomerMetadataProperties, RemoveMetadata: in.CustomerMetadataPropertiesToRemove}
	if in.ModelApprovalStatus != nil {
		st := registry.ApprovalStatus(*in.ModelApprovalStatus)
		u.ApprovalStatus = &st
	}
	p, err := s.reg(c).UpdatePackage(r.Context(), c.TenantID, userOf(c), ref, u)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ModelPackageArn": p.ARN}, nil
}

// registryARN reports whether resourceARN names a group or a package and
// returns its kind and name ("<group>/<version>" for a package); foreign
// reports an ARN of another account or region, which is a missing
// resource whatever its name.
func (s *Surface) registryARN(acct, resourceARN string) (kind serving.ResourceKind, name string, foreign, ok bool) {
	kind, name, err := serving.ParseARN(resourceARN)
	if err != nil || s.Registry == nil || (kind != registry.KindGroup && kind != registry.KindPackage) {
		return "", "", false, false
	}
	a, _ := arn.Parse(resourceARN)
	return kind, name, a.AccountID != acct || a.Region != s.Registry.Region, true
}

// registryTagOp runs a tag operation on the registry resource arn names,
// if it names one.
func (s *Surface) registryTagOp(c *authn.Principal, resourceARN string, fn func(kind serving.ResourceKind, name string) (any, error)) (any, bool, error) {
	kind, name, foreign, ok := s.registryARN(c.Account, resourceARN)
	if !ok {
		return nil, false, nil
	}
	if foreign {
		return nil, true, s.reg(c).ErrNotFound(kind, name)
	}
	out, err := fn(kind, name)
	return out, true, err
}

// packageContainer is the container of a model created from the model
// package ct names (by ARN or "<group>/<version>"): the package's one
// container, its model data pinned by the digest the package recorded,
// with ct's Environment added. The caller must be allowed
// sagemaker:DescribeModelPackage on the package (with its group's
// resource policy); another tenant's package, or the platform's to a
// tenant's principal, is decided and answered as a missing one. Any
// approval status is accepted, as SageMaker does; the model records the
// package, and the audit event its status (modelPackageApprovalStatus).
func (s *Surface) packageContainer(r *http.Request, c *authn.Principal, ct *containerJSON) (serving.Container, error) {
	if s.Registry == nil {
		return serving.Container{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ModelPackageName: this server has no model registry")
	}
	if ct.Image != "" || ct.ModelDataURL != "" || (ct.Mode != "" && ct.Mode != "SingleModel") {
		return serving.Container{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException",
			"a container created from a ModelPackageName takes its Image and ModelDataUrl from the package: leave them out (and Mode SingleModel)")
	}
	reg := s.reg(c)
	ref, ours, err := registry.ParsePackageName(reg.Region, reg.AccountID, ct.ModelPackageName)
	if err != nil {
		return serving.Container{}, err
	}
	if !ours {
		// Another account's package (by ARN, in this region): looked up
		// in that account's registry and decided across accounts, by the
		// caller's identity policy and the group's resource policy.
		a, _ := arn.Parse(ct.ModelPackageName)
		if a.Region != reg.Region || identity.ValidateAccount(a.AccountID) != nil {
			return serving.Container{}, reg.ErrPackageNotFound(ref)
		}
		reg.AccountID = a.AccountID
	}
	t, err := s.registryTargetIn(r, c, reg, registry.KindPackage, ref.Group+"/"+strconv.Itoa(ref.Version), false, true, &api.Target{})
	if err != nil {
		return serving.Container{}, err
	}
	d, hidden, err := s.Pipeline.Check(r, c, "sagemaker:DescribeModelPackage", t.Resource, nil)
	if err != nil {
		return serving.Container{}, err
	}
	if !d.Allowed() {
		return serving.Container{}, tenantml.AWSErrorf(tenantml.EFORBIDDEN, "AccessDeniedException",
			"User: %s is not authorized to perform: sagemaker:DescribeModelPackage on resource: %s", c.ARN, t.ARN)
	}
	if hidden || t.Hide != nil {
		return serving.Container{}, reg.ErrPackageNotFound(ref)
	}
	p, err := reg.DescribePackage(r.Context(), c.TenantID, ref)
	if err != nil {
		return serving.Container{}, err
	}
	if n := len(p.Inference.Containers); n != 1 {
		return serving.Container{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "model package %s has %d containers: a model serves one", p.ARN, n)
	}
	pc := p.Inference.Containers[0]
	env := map[string]string{}
	for k, v := range pc.Environment {
		env[k] = v
	}
	for k, v := range ct.Environment {
		env[k] = v
	}
	if len(env) == 0 {
		env = nil
	}
	return serving.Container{Image: pc.Image, Mode: "SingleModel", ModelDataURL: pc.ModelDataURL, Environment: env,
		ModelPackageName: p.ARN, ModelDataSHA256: pc.ModelDataSHA256, ModelDataSize: pc.ModelDataSize}, nil
}

// createModelParameters adds, to a CreateModel's audit parameters, the
// model package it names and that package's approval status when the
// caller may see it (for another tenant's package, nothing a missing one
// would not show).
func (s *Surface) createModelParameters(r *http.Request, c *authn.Principal, in *createModelInput, params map[string]any) {
	ct := in.PrimaryContainer
	if ct == nil && len(in.Containers) == 1 {
		ct = &in.Containers[0]
	}
	if ct == nil || ct.ModelPackageName == "" || s.Registry == nil {
		return
	}
	params["modelPackageName"] = truncate(ct.ModelPackageName)
	ref, ours, err := registry.ParsePackageName(s.Registry.Region, c.Account, ct.ModelPackageName)
	if err != nil || !ours {
		return
	}
	if p, err := s.reg(c).DescribePackage(r.Context(), c.TenantID, ref); err == nil {
		params["modelPackageApprovalStatus"] = string(p.ApprovalStatus)
	}
}

// reg is the model registry of the caller's account: a request acts on
// its own account's groups and packages (another account's are reached
// by ARN, decided across accounts by their group's resource policy).
func (s *Surface) reg(c *authn.Principal) *registry.Service {
	r := *s.Registry
	if c != nil && c.Account != "" {
		r.AccountID = c.Account
	}
	return &r
}
