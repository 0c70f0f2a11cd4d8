package autoscale

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
)

// The one service namespace and scalable dimension tenantml scales.
const (
	ServiceNamespace = "sagemaker"
	Dimension        = "sagemaker:variant:DesiredInstanceCount"
	// PolicyTargetTracking is the one policy type supported.
	PolicyTargetTracking = "TargetTrackingScaling"
	// InvocationsPerInstance is the predefined metric: the variant's
	// invocations per minute divided by its instances.
	InvocationsPerInstance = "SageMakerVariantInvocationsPerInstance"
)

// Custom metric names a CustomizedMetricSpecification may track (namespace
// CustomNamespace or "AWS/SageMaker"), with the dimensions EndpointName and
// VariantName of the policy's own variant.
const (
	// MetricInvocations is the variant's invocations per minute.
	MetricInvocations = "Invocations"
	// MetricInvocationsPerInstance is MetricInvocations per instance.
	MetricInvocationsPerInstance = "InvocationsPerInstance"
	// MetricModelLatency is the mean model latency in microseconds over
	// the window.
	MetricModelLatency = "ModelLatency"
	// MetricConcurrentRequestsPerInstance is the requests in flight at the
	// sample, per instance.
	MetricConcurrentRequestsPerInstance = "ConcurrentRequestsPerInstance"
	// CustomNamespace is tenantml's own metric namespace.
	CustomNamespace = "tenantml"
)

// Limits of the API's values.
const (
	// MaxCapacityLimit bounds MaxCapacity: a variant's workers are local
	// processes.
	MaxCapacityLimit = 100
	// MaxCooldown bounds the cooldowns (one day, in seconds).
	MaxCooldown = 86400
)

// ResourceID is a variant's scalable target name:
// endpoint/<EndpointName>/variant/<VariantName>.
type ResourceID struct {
	Endpoint, Variant string
}

// String returns "endpoint/<Endpoint>/variant/<Variant>".
func (r ResourceID) String() string { return "endpoint/" + r.Endpoint + "/variant/" + r.Variant }

// nameRE is the managed cloud's rule for endpoint and variant names.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

// ParseResourceID parses "endpoint/<name>/variant/<variant>"; anything
// else is EINVALID (ValidationException).
func ParseResourceID(s string) (ResourceID, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] != "endpoint" || parts[2] != "variant" || !nameRE.MatchString(parts[1]) || !nameRE.MatchString(parts[3]) {
		return ResourceID{}, invalid("ResourceId %q is not endpoint/<EndpointName>/variant/<VariantName>", clip(s))
	}
	return ResourceID{Endpoint: parts[1], Variant: parts[3]}, nil
}

// Target is a scalable target: a variant's instance count with its bounds.
type Target struct {
	// TenantID owns the endpoint ("" for the platform's).
	TenantID  string
	AccountID string
	// ResourceID names the variant.
	ResourceID ResourceID
	// MinCapacity and MaxCapacity bound the instance count.
	MinCapacity, MaxCapacity int
	// RoleARN is the service-linked role the managed cloud reports; kept
	// as given.
	RoleARN string
	// ARN is the target's ARN.
	ARN       string
	CreatedAt time.Time
}

// Validate checks the target's bounds.
func (t *Target) Validate() error {
	switch {
	case t.MinCapacity < 1:
		return invalid("MinCapacity must be at least 1: a SageMaker variant keeps at least one instance")
	case t.MaxCapacity < t.MinCapacity:
		return invalid("MaxCapacity (%d) must be greater than or equal to MinCapacity (%d)", t.MaxCapacity, t.MinCapacity)
	case t.MaxCapacity > MaxCapacityLimit:
		return invalid("MaxCapacity must be at most %d", MaxCapacityLimit)
	}
	return nil
}

// TargetARN is a scalable target's ARN: tenantml names it by its
// namespace and resource (the managed cloud uses an opaque ID).
func TargetARN(region, account string, r ResourceID) string {
	return fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s/%s", region, account, ServiceNamespace, r)
}

// PolicyARN is a scaling policy's ARN, as the managed cloud forms it.
func PolicyARN(region, account string, r ResourceID, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s", region, account,
		policyID(account, r), ServiceNamespace, r, name)
}

// policyID is a stable UUID-shaped ID of a target (the managed cloud's is
// random).
func policyID(account string, r ResourceID) string {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(account + "/" + r.String()) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	g := h * 0x9e3779b97f4a7c15
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(h>>32), uint16(h>>16), uint16(h), uint16(g>>48), g&0xffffffffffff)
}

// Dim is a metric dimension.
type Dim struct {
	Name, Value string
}

// CustomMetric is a CustomizedMetricSpecification over tenantml's own
// per-variant figures.
type CustomMetric struct {
	MetricName string
	Namespace  string
	Dimensions []Dim
	Statistic  string
	Unit       string
}

// TargetTracking is a TargetTrackingScalingPolicyConfiguration.
type TargetTracking struct {
	TargetValue float64
	// Predefined is the predefined metric type (InvocationsPerInstance);
	// "" when Custom is set.
	Predefined string
	Custom     *CustomMetric
	// ScaleOutCooldown and ScaleInCooldown are in seconds.
	ScaleOutCooldown, ScaleInCooldown int
	DisableScaleIn                    bool
}

// Metric returns the metric the policy tracks (a Metric* name).
func (c *TargetTracking) Metric() string {
	if c.Custom != nil {
		return c.Custom.MetricName
	}
	return MetricInvocationsPerInstance
}

// Policy is a scaling policy of a target.
type Policy struct {
	TenantID   string
	AccountID  string
	Name       string
	ResourceID ResourceID
	ARN        string
	Type       string
	Config     TargetTracking
	CreatedAt  time.Time
}

// policyNameRE is the managed cloud's PolicyName: 1-256 printable
// characters without ':' or '/'.
var policyNameRE = regexp.MustCompile(`^[\x21-\x2e\x30-\x39\x3b-\x7e]{1,256}$`)

// Validate checks the policy against what tenantml supports.
func (p *Policy) Validate() error {
	if !policyNameRE.MatchString(p.Name) {
		return invalid("PolicyName must be 1 to 256 printable characters without spaces, ':' or '/'")
	}
	if p.Type != PolicyTargetTracking {
		return invalid("PolicyType %q is not supported: use TargetTrackingScaling", clip(p.Type))
	}
	c := &p.Config
	switch {
	case math.IsNaN(c.TargetValue) || math.IsInf(c.TargetValue, 0) || c.TargetValue < 8.515920e-109 || c.TargetValue > 1e9:
		return invalid("TargetValue must be a positive number up to 1e9")
	case c.ScaleOutCooldown < 0 || c.ScaleOutCooldown > MaxCooldown:
		return invalid("ScaleOutCooldown must be from 0 to %d seconds", MaxCooldown)
	case c.ScaleInCooldown < 0 || c.ScaleInCooldown > MaxCooldown:
		return invalid("ScaleInCooldown must be from 0 to %d seconds", MaxCooldown)
	case (c.Predefined == "") == (c.Custom == nil):
		return invalid("a TargetTrackingScalingPolicyConfiguration needs exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification")
	case c.Predefined != "" && c.Predefined != InvocationsPerInstance:
		return invalid("PredefinedMetricType %q is not supported for %s: use %s", clip(c.Predefined), Dimension, InvocationsPerInstance)
	}
	if c.Custom != nil {
		return c.Custom.validate(p.ResourceID)
	}
	return nil
}

func (m *CustomMetric) validate(r ResourceID) error {
	switch m.MetricName {
	case MetricInvocations, MetricInvocationsPerInstance, MetricModelLatency, MetricConcurrentRequestsPerInstance:
	default:
		return invalid("CustomizedMetricSpecification MetricName %q is not one of tenantml's variant metrics: %s, %s, %s, %s", clip(m.MetricName),
			MetricInvocations, MetricInvocationsPerInstance, MetricModelLatency, MetricConcurrentRequestsPerInstance)
	}
	if m.Namespace != CustomNamespace && m.Namespace != "AWS/SageMaker" {
		return invalid("CustomizedMetricSpecification Namespace must be %s or AWS/SageMaker", CustomNamespace)
	}
	if m.Statistic != "Average" && m.Statistic != "Sum" {
		return invalid("CustomizedMetricSpecification Statistic must be Average or Sum")
	}
	seen := map[string]bool{}
	for _, d := range m.Dimensions {
		switch {
		case d.Name == "EndpointName" && d.Value == r.Endpoint, d.Name == "VariantName" && d.Value == r.Variant:
			seen[d.Name] = true
		default:
			return invalid("CustomizedMetricSpecification Dimensions must be EndpointName=%s and VariantName=%s (the policy's own variant)", r.Endpoint, r.Variant)
		}
	}
	if !seen["EndpointName"] || !seen["VariantName"] {
		return invalid("CustomizedMetricSpecification Dimensions must be EndpointName=%s and VariantName=%s (the policy's own variant)", r.Endpoint, r.Variant)
	}
	return nil
}

// Activity statuses.
const (
	StatusSuccessful = "Successful"
	StatusFailed     = "Failed"
)

// Activity is one scaling activity: a change of a target's instance count.
type Activity struct {
	TenantID   string
	AccountID  string
	ID         string
	ResourceID ResourceID
	// From and To are the instance counts before and after.
	From, To      int
	Description   string
	Cause         string
	StatusCode    string
	StatusMessage string
	StartTime     time.Time
	EndTime       time.Time
}

// Filter selects a tenant's targets, policies or activities. Exactly one
// of Tenant and AllTenants must be set: a store never reads across
// tenants by omission.
type Filter struct {
	// Tenant is the tenant whose rows are read; "" with AllTenants unset
	// means the platform's own (tenantless) rows only when Platform is set.
	Tenant string
	// Platform reads the platform's tenantless rows (Tenant "").
	Platform bool
	// AllTenants reads every tenant's rows (the scaler, the operator).
	AllTenants bool
	AccountID  string
	// ResourceIDs, when set, keeps only these variants.
	ResourceIDs []ResourceID
	// PolicyNames, when set, keeps only these policies.
	PolicyNames []string
	// Limit bounds the rows returned (0: no bound).
	Limit int
}

// Validate checks that the filter names whose rows it reads.
func (f Filter) Validate() error {
	n := 0
	for _, b := range []bool{f.Tenant != "", f.Platform, f.AllTenants} {
		if b {
			n++
		}
	}
	if n != 1 {
		return tenantml.Errorf(tenantml.EINTERNAL, "autoscaling filter must name exactly one of a tenant, the platform or all tenants")
	}
	if f.AccountID == "" {
		return tenantml.Errorf(tenantml.EINTERNAL, "autoscaling filter without an account")
	}
	return nil
}

// Store persists targets, policies and activities.
type Store interface {
	// PutTarget creates or updates the target of (AccountID, ResourceID).
	// A target of another tenant under the same name (a stale one, left
	// when an endpoint was deleted and its name reused) is replaced with
	// its policies.
	PutTarget(ctx context.Context, t *Target) error
	// DeleteTarget deletes the tenant's target and its policies;
	// ENOTFOUND when it has none.
	DeleteTarget(ctx context.Context, tenant, account string, r ResourceID) error
	// Targets returns the targets f selects, by ResourceID.
	Targets(ctx context.Context, f Filter) ([]*Target, error)
	// PutPolicy creates or replaces the tenant's policy of (AccountID,
	// ResourceID, Name); ENOTFOUND when the tenant has no such target.
	PutPolicy(ctx context.Context, p *Policy) error
	// DeletePolicy deletes a policy; ENOTFOUND when there is none.
	DeletePolicy(ctx context.Context, tenant, account string, r ResourceID, name string) error
	// Policies returns the policies f selects, by ResourceID and name.
	Policies(ctx context.Context, f Filter) ([]*Policy, error)
	// AddActivity records an activity.
	AddActivity(ctx context.Context, a *Activity) error
	// Activities returns the activities f selects, newest first.
	Activities(ctx context.Context, f Filter) ([]*Activity, error)
}

func invalid(format string, args ...any) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", format, args...)
}

// clip bounds caller-supplied text quoted in a message.
func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
