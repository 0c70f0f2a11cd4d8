package registry

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/serving"
)

// Limits, as SageMaker's.
const (
	MaxContainers         = 15
	MaxDescription        = 1024
	MaxCustomerMetadata   = 50
	MaxMetadataKey        = 128
	MaxMetadataValue      = 256
	MaxContentTypes       = 10
	MaxInstanceTypes      = 30
	MaxEnvironment        = 100
	MaxPolicyLength       = 20480
	MaxApprovalDesc       = 1024
	MaxFrameworkLength    = 256
	maxModelDataURLLength = 1024
)

// ApprovalStatus is a package's ModelApprovalStatus.
type ApprovalStatus string

// The approval statuses.
const (
	PendingManualApproval ApprovalStatus = "PendingManualApproval"
	Approved              ApprovalStatus = "Approved"
	Rejected              ApprovalStatus = "Rejected"
)

// Valid reports whether s is an approval status.
func (s ApprovalStatus) Valid() bool {
	return s == PendingManualApproval || s == Approved || s == Rejected
}

// UserContext is who made a change: SageMaker's UserContext.IamIdentity.
type UserContext struct {
	ARN         string
	PrincipalID string
}

// Group is a model package group.
type Group struct {
	AccountID   string
	Name        string
	ARN         string
	Tenant      string // "" for a platform group
	Description string
	// Policy is the group's resource policy ("" for none): the resource
	// policy of the group and of its packages.
	Policy    string
	Tags      map[string]string
	CreatedAt time.Time
	CreatedBy UserContext
	// LatestVersion is the highest version ever registered in the group
	// (0 for none); the store maintains it.
	LatestVersion int
}

// Container is one container of a package's inference specification.
type Container struct {
	Image            string
	ModelDataURL     string
	Environment      map[string]string
	Framework        string
	FrameworkVersion string
	// ModelDataSHA256 and ModelDataSize pin the object ModelDataURL named
	// at registration: the hex SHA-256 and size of its plaintext.
	ModelDataSHA256 string
	ModelDataSize   int64
	// ModelDataETag is the object's S3 ETag at registration.
	ModelDataETag string
}

// InferenceSpecification is what a package deploys.
type InferenceSpecification struct {
	Containers                              []Container
	SupportedContentTypes                   []string
	SupportedResponseMIMETypes              []string
	SupportedRealtimeInferenceInstanceTypes []string
	SupportedTransformInstanceTypes         []string
}

// MetricsSource is a metrics report: SageMaker's MetricsSource.
type MetricsSource struct {
	ContentType   string
	ContentDigest string
	S3URI         string
}

// MetricsKeys are the reports ModelMetrics may hold, as
// "<section>.<report>" of SageMaker's ModelMetrics.
var MetricsKeys = []string{
	"ModelQuality.Statistics", "ModelQuality.Constraints",
	"ModelDataQuality.Statistics", "ModelDataQuality.Constraints",
	"Bias.Report", "Bias.PreTrainingReport", "Bias.PostTrainingReport",
	"Explainability.Report",
}

// Package is one version of a model in a group.
type Package struct {
	AccountID   string
	GroupName   string
	Version     int // assigned by the store
	ARN         string
	Tenant      string // the group's
	Description string
	Inference   InferenceSpecification
	// Metrics are the package's reports by MetricsKeys key.
	Metrics             map[string]MetricsSource
	CustomerMetadata    map[string]string
	ApprovalStatus      ApprovalStatus
	ApprovalDescription string
	Tags                map[string]string
	CreatedAt           time.Time
	CreatedBy           UserContext
	LastModifiedAt      time.Time // zero until the first update
	LastModifiedBy      UserContext
	// ApprovalModifiedBy and ApprovalModifiedAt record who last set the
	// approval status (at registration, the registrant).
	ApprovalModifiedBy UserContext
	ApprovalModifiedAt time.Time
}

// GroupARN is the ARN of group name.
func GroupARN(region, acct, name string) string {
	return arn.New("sagemaker", region, acct, "model-package-group/"+strings.ToLower(name)).String()
}

// PackageARN is the ARN of version v of group.
func PackageARN(region, acct, group string, v int) string {
	return arn.New("sagemaker", region, acct, "model-package/"+strings.ToLower(group)+"/"+strconv.Itoa(v)).String()
}

// The ARN resource types of the registry.
const (
	KindGroup   serving.ResourceKind = "model-package-group"
	KindPackage serving.ResourceKind = "model-package"
)

// PackageRef names a package: its group and version.
type PackageRef struct {
	Group   string
	Version int
}

// ParsePackageName reads a package named by ARN (of account acct) or as
// "<group>/<version>". A malformed name is EINVALID; an ARN of another
// account or region answers ENOTFOUND through the caller (ok false).
func ParsePackageName(region, acct, s string) (ref PackageRef, ours bool, err error) {
	bad := validation("ModelPackageName %q must be a model package ARN or <group>/<version>", truncate(s))
	rest := s
	ours = true
	if strings.HasPrefix(s, "arn:") {
		a, perr := arn.Parse(s)
		if perr != nil || a.Service != "sagemaker" || !strings.HasPrefix(a.Resource, string(KindPackage)+"/") {
			return ref, false, bad
		}
		ours = a.AccountID == acct && a.Region == region
		rest = strings.TrimPrefix(a.Resource, string(KindPackage)+"/")
	}
	g, v, ok := strings.Cut(rest, "/")
	if !ok {
		return ref, false, bad
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || strconv.Itoa(n) != v {
		return ref, false, bad
	}
	if err := ValidateGroupName(g); err != nil {
		return ref, false, err
	}
	return PackageRef{Group: g, Version: n}, ours, nil
}

// ValidateGroupName checks a group name: SageMaker's entity name, 1–63
// letters, digits and hyphens.
func ValidateGroupName(name string) error {
	return serving.ValidateName("modelPackageGroupName", name)
}

func validation(format string, args ...any) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", format, args...)
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// text checks a free-text field.
func text(field, s string, max int) error {
	if len(s) > max || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return validation("%s must be at most %d characters of valid UTF-8", field, max)
	}
	return nil
}

// Validate checks a group to create.
func (g *Group) Validate() error {
	if err := ValidateGroupName(g.Name); err != nil {
		return err
	}
	return text("ModelPackageGroupDescription", g.Description, MaxDescription)
}

// Validate checks a package to register: its inference specification
// (1–15 containers, each with an image and, when it names model data, an
// s3:// URL of an object pinned by digest), metrics, metadata and
// approval status.
func (p *Package) Validate() error {
	if err := ValidateGroupName(p.GroupName); err != nil {
		return err
	}
	if err := text("ModelPackageDescription", p.Description, MaxDescription); err != nil {
		return err
	}
	if !p.ApprovalStatus.Valid() {
		return validation("ModelApprovalStatus must be PendingManualApproval, Approved or Rejected")
	}
	if err := text("ApprovalDescription", p.ApprovalDescription, MaxApprovalDesc); err != nil {
		return err
	}
	if err := p.Inference.validate(); err != nil {
		return err
	}
	if err := ValidateMetrics(p.Metrics); err != nil {
		return err
	}
	return ValidateMetadata(p.CustomerMetadata)
}

func (s *InferenceSpecification) validate() error {
	if n := len(s.Containers); n < 1 || n > MaxContainers {
		return validation("InferenceSpecification needs 1 to %d containers", MaxContainers)
	}
	for i := range s.Containers {
		if err := s.Containers[i].validate(i); err != nil {
			return err
		}
	}
	lists := []struct {
		field string
		vals  []string
		max   int
	}{
		{"SupportedContentTypes", s.SupportedContentTypes, MaxContentTypes},
		{"SupportedResponseMIMETypes", s.SupportedResponseMIMETypes, MaxContentTypes},
		{"SupportedRealtimeInferenceInstanceTypes", s.SupportedRealtimeInferenceInstanceTypes, MaxInstanceTypes},
		{"SupportedTransformInstanceTypes", s.SupportedTransformInstanceTypes, MaxInstanceTypes},
	}
	for _, l := range lists {
		if len(l.vals) > l.max {
			return validation("%s: at most %d values", l.field, l.max)
		}
		for _, v := range l.vals {
			if v == "" || text(l.field, v, 256) != nil {
				return validation("%s: each value must be 1 to 256 characters", l.field)
			}
		}
	}
	return nil
}

func (c *Container) validate(i int) error {
	field := fmt.Sprintf("InferenceSpecification.Containers.%d", i+1)
	if c.Image == "" || text(field+".Image", c.Image, 255) != nil {
		return validation("%s.Image must be 1 to 255 characters", field)
	}
	if err := text(field+".Framework", c.Framework, MaxFrameworkLength); err != nil {
		return err
	}
	if err := text(field+".FrameworkVersion", c.FrameworkVersion, 10); err != nil {
		return err
	}
	if len(c.Environment) > MaxEnvironment {
		return validation("%s.Environment: at most %d variables", field, MaxEnvironment)
	}
	for k, v := range c.Environment {
		if k == "" || text("", k, 1024) != nil || text("", v, 1024) != nil {
			return validation("%s.Environment: keys and values must be 1 to 1024 characters", field)
		}
	}
	if c.ModelDataURL == "" {
		if c.ModelDataSHA256 != "" || c.ModelDataSize != 0 {
			return validation("%s: a digest without ModelDataUrl", field)
		}
		return nil
	}
	if len(c.ModelDataURL) > maxModelDataURLLength {
		return validation("%s.ModelDataUrl must be at most %d characters", field, maxModelDataURLLength)
	}
	u, err := serving.ParseS3URL(c.ModelDataURL)
	if err != nil {
		return err
	}
	if u.Key == "" || strings.HasSuffix(u.Key, "/") {
		return validation("%s.ModelDataUrl must name an object (a model package pins one object by digest), not a prefix", field)
	}
	if !IsSHA256(c.ModelDataSHA256) || c.ModelDataSize < 0 {
		return validation("%s: the model data is not pinned by digest", field)
	}
	return nil
}

// IsSHA256 reports whether s is a lower-case hex SHA-256.
func IsSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ValidateMetrics checks a package's metrics reports.
func ValidateMetrics(m map[string]MetricsSource) error {
	for k, v := range m {
		known := false
		for _, want := range MetricsKeys {
			known = known || k == want
		}
		if !known {
			return validation("ModelMetrics: unknown report %q", truncate(k))
		}
		if v.ContentType == "" || text("ModelMetrics."+k+".ContentType", v.ContentType, 256) != nil {
			return validation("ModelMetrics.%s.ContentType must be 1 to 256 characters", k)
		}
		if text("ModelMetrics."+k+".ContentDigest", v.ContentDigest, 72) != nil {
			return validation("ModelMetrics.%s.ContentDigest must be at most 72 characters", k)
		}
		if len(v.S3URI) > maxModelDataURLLength {
			return validation("ModelMetrics.%s.S3Uri is too long", k)
		}
		if _, err := serving.ParseS3URL(v.S3URI); err != nil {
			return validation("ModelMetrics.%s.S3Uri must be an s3://bucket/key URL", k)
		}
	}
	return nil
}

// ValidateMetadata checks CustomerMetadataProperties.
func ValidateMetadata(m map[string]string) error {
	if len(m) > MaxCustomerMetadata {
		return validation("CustomerMetadataProperties: at most %d properties", MaxCustomerMetadata)
	}
	for k, v := range m {
		if k == "" || text("", k, MaxMetadataKey) != nil || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return validation("CustomerMetadataProperties: keys must be 1 to %d characters, not beginning with aws:", MaxMetadataKey)
		}
		if text("", v, MaxMetadataValue) != nil {
			return validation("CustomerMetadataProperties: values must be at most %d characters", MaxMetadataValue)
		}
	}
	return nil
}

// Store persists groups and packages of every account. Names match
// case-insensitively (the ARN lower-cases them); a missing group or
// package is ENOTFOUND, a taken group name ECONFLICT. Times are UTC at
// millisecond precision, set from the store's clock where noted. A row's
// tenant is fixed at creation. store/storetest.RunRegistry is the
// contract.
type Store interface {
	// CreateGroup stores a new group; it sets CreatedAt.
	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, acct, name string) (*Group, error)
	ListGroups(ctx context.Context, acct string, f GroupFilter) ([]*Group, string, error)
	// UpdateGroup reads the group, calls fn with it and stores what fn
	// left in its Description, Policy and Tags, in one transaction; fn's
	// error aborts the update and is returned.
	UpdateGroup(ctx context.Context, acct, name string, fn func(*Group) error) error
	// DeleteGroup deletes an empty group: ECONFLICT while it holds
	// packages.
	DeleteGroup(ctx context.Context, acct, name string) error

	// CreatePackage registers p in its group (ENOTFOUND without one) as
	// the group's next version, setting Version, ARN, Tenant (the
	// group's) and CreatedAt.
	CreatePackage(ctx context.Context, p *Package) error
	GetPackage(ctx context.Context, acct, group string, version int) (*Package, error)
	ListPackages(ctx context.Context, acct string, f PackageFilter) ([]*Package, string, error)
	// UpdatePackage reads the package, calls fn with it and stores what
	// fn left in its approval status and description, description,
	// customer metadata, tags and the Last/ApprovalModified fields, in one
	// transaction; fn's error aborts the update and is returned.
	UpdatePackage(ctx context.Context, acct, group string, version int, fn func(*Package) error) error
	DeletePackage(ctx context.Context, acct, group string, version int) error
}

// ListFilter is what both listings share.
type ListFilter struct {
	// Tenant, when set, keeps exactly that tenant's rows (platform rows
	// are not among them); "" lists every row of the account.
	Tenant string
	// NameContains keeps groups whose name contains it (case-insensitive;
	// 1–63 letters, digits and hyphens).
	NameContains string
	// CreatedAfter and CreatedBefore bound CreationTime (exclusive).
	CreatedAfter, CreatedBefore time.Time
	// SortByCreationTime sorts by creation time instead of name;
	// Descending reverses the order.
	SortByCreationTime, Descending bool
	// Limit is the page size, 1–100 (0 means 10).
	Limit int
	// After is the token of the previous page.
	After string
}

// GroupFilter selects and pages groups.
type GroupFilter struct{ ListFilter }

// PackageFilter selects and pages packages: sorted by name (group name,
// then version) or creation time.
type PackageFilter struct {
	ListFilter
	// Group keeps the packages of that group (any case).
	Group string
	// Status keeps packages with that approval status.
	Status ApprovalStatus
}
