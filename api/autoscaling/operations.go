package autoscaling

import (
	"encoding/json"
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/autoscale"
)

type registerInput struct {
	targetInput
	MinCapacity    *int              `json:"MinCapacity"`
	MaxCapacity    *int              `json:"MaxCapacity"`
	RoleARN        string            `json:"RoleARN"`
	SuspendedState json.RawMessage   `json:"SuspendedState"`
	Tags           map[string]string `json:"Tags"`
}

type describeTargetsInput struct {
	ServiceNamespace  string   `json:"ServiceNamespace"`
	ResourceIDs       []string `json:"ResourceIds"`
	ScalableDimension string   `json:"ScalableDimension"`
	MaxResults        int      `json:"MaxResults"`
	NextToken         string   `json:"NextToken"`
}

type dimensionJSON struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type predefinedJSON struct {
	PredefinedMetricType string `json:"PredefinedMetricType"`
	ResourceLabel        string `json:"ResourceLabel,omitempty"`
}

type customJSON struct {
	MetricName string          `json:"MetricName"`
	Namespace  string          `json:"Namespace"`
	Dimensions []dimensionJSON `json:"Dimensions,omitempty"`
	Statistic  string          `json:"Statistic"`
	Unit       string          `json:"Unit,omitempty"`
	Metrics    json.RawMessage `json:"Metrics,omitempty"`
}

type targetTrackingJSON struct {
	TargetValue                   *float64        `json:"TargetValue"`
	PredefinedMetricSpecification *predefinedJSON `json:"PredefinedMetricSpecification,omitempty"`
	CustomizedMetricSpecification *customJSON     `json:"CustomizedMetricSpecification,omitempty"`
	ScaleOutCooldown              *int            `json:"ScaleOutCooldown,omitempty"`
	ScaleInCooldown               *int            `json:"ScaleInCooldown,omitempty"`
	DisableScaleIn                bool            `json:"DisableScaleIn"`
}

type putPolicyInput struct {
	targetInput
	PolicyName                               string              `json:"PolicyName"`
	PolicyType                               string              `json:"PolicyType"`
	TargetTrackingScalingPolicyConfiguration *targetTrackingJSON `json:"TargetTrackingScalingPolicyConfiguration"`
	StepScalingPolicyConfiguration           json.RawMessage     `json:"StepScalingPolicyConfiguration"`
}

type describePoliciesInput struct {
	PolicyNames []string `json:"PolicyNames"`
	targetInput
	MaxResults int    `json:"MaxResults"`
	NextToken  string `json:"NextToken"`
}

type deletePolicyInput struct {
	PolicyName string `json:"PolicyName"`
	targetInput
}

type describeActivitiesInput struct {
	targetInput
	MaxResults                 int    `json:"MaxResults"`
	NextToken                  string `json:"NextToken"`
	IncludeNotScaledActivities bool   `json:"IncludeNotScaledActivities"`
}

// defaultCooldown is the managed cloud's default cooldown for SageMaker
// variants, in seconds.
const defaultCooldown = 300

// serviceLinkedRole is the role the managed cloud reports for SageMaker
// variants when none is given.
const serviceLinkedRole = "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"

// operations maps each operation to its target and work.
func (s *Surface) operations() map[string]op {
	return map[string]op{
		"RegisterScalableTarget": {newInput: func() any { return new(registerInput) },
			resource: func(in any) *targetInput { return &in.(*registerInput).targetInput },
			notFound: func(r autoscale.ResourceID, _ any) error { return noResource(r) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.register(r, c, in.(*registerInput))
			}},
		"DeregisterScalableTarget": {newInput: func() any { return new(targetInput) },
			resource: func(in any) *targetInput { return in.(*targetInput) },
			notFound: func(r autoscale.ResourceID, _ any) error { return noTarget(r) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				rid, err := in.(*targetInput).parse()
				if err != nil {
					return nil, err
				}
				t, err := s.owned(r.Context(), c, rid)
				if err != nil {
					return nil, err
				}
				if t == nil {
					return nil, noTarget(rid)
				}
				if err := s.Store.DeleteTarget(r.Context(), t.TenantID, t.AccountID, rid); err != nil {
					if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
						return nil, noTarget(rid)
					}
					return nil, err
				}
				return struct{}{}, nil
			}},
		"DescribeScalableTargets": {newInput: func() any { return new(describeTargetsInput) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.describeTargets(r, c, in.(*describeTargetsInput))
			}},
		"PutScalingPolicy": {newInput: func() any { return new(putPolicyInput) },
			resource: func(in any) *targetInput { return &in.(*putPolicyInput).targetInput },
			notFound: func(r autoscale.ResourceID, _ any) error { return noTarget(r) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.putPolicy(r, c, in.(*putPolicyInput))
			}},
		"DescribeScalingPolicies": {newInput: func() any { return new(describePoliciesInput) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.describePolicies(r, c, in.(*describePoliciesInput))
			}},
		"DeleteScalingPolicy": {newInput: func() any { return new(deletePolicyInput) },
			resource: func(in any) *targetInput { return &in.(*deletePolicyInput).targetInput },
			notFound: func(r autoscale.ResourceID, in any) error { return noPolicy(r, in.(*deletePolicyInput).PolicyName) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				x := in.(*deletePolicyInput)
				rid, err := x.parse()
				if err != nil {
					return nil, err
				}
				t, err := s.owned(r.Context(), c, rid)
				if err != nil {
					return nil, err
				}
				if t == nil {
					return nil, noPolicy(rid, x.PolicyName)
				}
				if err := s.Store.DeletePolicy(r.Context(), t.TenantID, t.AccountID, rid, x.PolicyName); err != nil {
					if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
						return nil, noPolicy(rid, x.PolicyName)
					}
					return nil, err
				}
				return struct{}{}, nil
			}},
		"DescribeScalingActivities": {newInput: func() any { return new(describeActivitiesInput) },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.describeActivities(r, c, in.(*describeActivitiesInput))
			}},
	}
}

// register creates or updates the variant's scalable target.
func (s *Surface) register(r *http.Request, c *authn.Principal, in *registerInput) (any, error) {
	rid, err := in.parse()
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	ctl := s.Controller
	e, err := ctl.DescribeEndpoint(ctx, c.TenantID, rid.Endpoint)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil, noResource(rid)
	}
	if err != nil {
		return nil, err
	}
	ec, err := ctl.DescribeEndpointConfig(ctx, "", e.EndpointConfigName)
	if err != nil {
		return nil, noResource(rid)
	}
	found := false
	for _, v := range ec.ProductionVariants {
		found = found || v.VariantName == rid.Variant
	}
	if !found {
		return nil, noResource(rid)
	}
	t := &autoscale.Target{TenantID: e.Tenant, AccountID: ctl.AccountID, ResourceID: rid, RoleARN: in.RoleARN,
		ARN: autoscale.TargetARN(ctl.Region, ctl.AccountID, rid), CreatedAt: s.now()}
	old, err := s.owned(ctx, c, rid)
	if err != nil {
		return nil, err
	}
	if old != nil && old.TenantID == t.TenantID {
		t.MinCapacity, t.MaxCapacity, t.CreatedAt = old.MinCapacity, old.MaxCapacity, old.CreatedAt
		if t.RoleARN == "" {
			t.RoleARN = old.RoleARN
		}
	} else if in.MinCapacity == nil || in.MaxCapacity == nil {
		return nil, validation("MinCapacity and MaxCapacity are required to register a new scalable target")
	}
	if in.MinCapacity != nil {
		t.MinCapacity = *in.MinCapacity
	}
	if in.MaxCapacity != nil {
		t.MaxCapacity = *in.MaxCapacity
	}
	if t.RoleARN == "" {
		t.RoleARN = "arn:aws:iam::" + ctl.AccountID + ":" + serviceLinkedRole
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := s.Store.PutTarget(ctx, t); err != nil {
		return nil, err
	}
	return map[string]any{"ScalableTargetARN": t.ARN}, nil
}

// putPolicy creates or replaces a target-tracking policy of the caller's
// target.
func (s *Surface) putPolicy(r *http.Request, c *authn.Principal, in *putPolicyInput) (any, error) {
	rid, err := in.parse()
	if err != nil {
		return nil, err
	}
	p := &autoscale.Policy{AccountID: s.Controller.AccountID, Name: in.PolicyName, ResourceID: rid, Type: in.PolicyType, CreatedAt: s.now()}
	if p.Type == "" {
		p.Type = "StepScaling" // the managed cloud's default
	}
	tt := in.TargetTrackingScalingPolicyConfiguration
	if p.Type == autoscale.PolicyTargetTracking {
		if tt == nil || tt.TargetValue == nil {
			return nil, validation("TargetTrackingScaling needs a TargetTrackingScalingPolicyConfiguration with a TargetValue")
		}
		cfg := autoscale.TargetTracking{TargetValue: *tt.TargetValue, ScaleOutCooldown: defaultCooldown, ScaleInCooldown: defaultCooldown, DisableScaleIn: tt.DisableScaleIn}
		if tt.ScaleOutCooldown != nil {
			cfg.ScaleOutCooldown = *tt.ScaleOutCooldown
		}
		if tt.ScaleInCooldown != nil {
			cfg.ScaleInCooldown = *tt.ScaleInCooldown
		}
		if m := tt.PredefinedMetricSpecification; m != nil {
			cfg.Predefined = m.PredefinedMetricType
			if cfg.Predefined == "" {
				return nil, validation("PredefinedMetricSpecification needs a PredefinedMetricType")
			}
		}
		if m := tt.CustomizedMetricSpecification; m != nil {
			if len(m.Metrics) > 0 {
				return nil, validation("CustomizedMetricSpecification Metrics (metric math) is not supported: name one metric")
			}
			cm := &autoscale.CustomMetric{MetricName: m.MetricName, Namespace: m.Namespace, Statistic: m.Statistic, Unit: m.Unit}
			for _, d := range m.Dimensions {
				cm.Dimensions = append(cm.Dimensions, autoscale.Dim(d))
			}
			cfg.Custom = cm
		}
		p.Config = cfg
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	t, err := s.owned(r.Context(), c, rid)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, noTarget(rid)
	}
	p.TenantID = t.TenantID
	p.ARN = autoscale.PolicyARN(s.Controller.Region, s.Controller.AccountID, rid, p.Name)
	if err := s.Store.PutPolicy(r.Context(), p); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return nil, noTarget(rid)
		}
		return nil, err
	}
	return map[string]any{"PolicyARN": p.ARN, "Alarms": []any{}}, nil
}

func (s *Surface) describeTargets(r *http.Request, c *authn.Principal, in *describeTargetsInput) (any, error) {
	if err := checkNamespace(in.ServiceNamespace); err != nil {
		return nil, err
	}
	if in.ScalableDimension != "" && in.ScalableDimension != autoscale.Dimension {
		return nil, validation("ScalableDimension must be %s for the sagemaker namespace", autoscale.Dimension)
	}
	if len(in.ResourceIDs) > 50 {
		return nil, validation("ResourceIds names at most 50 resources")
	}
	f := s.scope(c)
	for _, id := range in.ResourceIDs {
		rid, err := autoscale.ParseResourceID(id)
		if err != nil {
			return nil, err
		}
		f.ResourceIDs = append(f.ResourceIDs, rid)
	}
	if len(in.ResourceIDs) > 0 && len(f.ResourceIDs) == 0 {
		return map[string]any{"ScalableTargets": []any{}}, nil
	}
	ts, err := s.Store.Targets(r.Context(), f)
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(len(ts), in.MaxResults, in.NextToken, 50)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, to-from)
	for _, t := range ts[from:to] {
		out = append(out, map[string]any{"ServiceNamespace": autoscale.ServiceNamespace, "ResourceId": t.ResourceID.String(),
			"ScalableDimension": autoscale.Dimension, "MinCapacity": t.MinCapacity, "MaxCapacity": t.MaxCapacity, "RoleARN": t.RoleARN,
			"CreationTime": epoch(t.CreatedAt), "ScalableTargetARN": t.ARN,
			"SuspendedState": map[string]bool{"DynamicScalingInSuspended": false, "DynamicScalingOutSuspended": false, "ScheduledScalingSuspended": false}})
	}
	return withNext(map[string]any{"ScalableTargets": out}, next), nil
}

// describeFilter is the store filter of DescribeScalingPolicies and
// DescribeScalingActivities: the caller's rows, of one variant when
// resourceID names one.
func (s *Surface) describeFilter(c *authn.Principal, namespace, resourceID, dimension string) (autoscale.Filter, error) {
	if err := checkNamespace(namespace); err != nil {
		return autoscale.Filter{}, err
	}
	if dimension != "" && dimension != autoscale.Dimension {
		return autoscale.Filter{}, validation("ScalableDimension must be %s for the sagemaker namespace", autoscale.Dimension)
	}
	f := s.scope(c)
	if resourceID != "" {
		rid, err := autoscale.ParseResourceID(resourceID)
		if err != nil {
			return autoscale.Filter{}, err
		}
		f.ResourceIDs = []autoscale.ResourceID{rid}
	}
	return f, nil
}

func (s *Surface) describePolicies(r *http.Request, c *authn.Principal, in *describePoliciesInput) (any, error) {
	f, err := s.describeFilter(c, in.ServiceNamespace, in.ResourceID, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	if len(in.PolicyNames) > 50 {
		return nil, validation("PolicyNames names at most 50 policies")
	}
	f.PolicyNames = in.PolicyNames
	ps, err := s.Store.Policies(r.Context(), f)
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(len(ps), in.MaxResults, in.NextToken, 50)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, to-from)
	for _, p := range ps[from:to] {
		out = append(out, map[string]any{"PolicyARN": p.ARN, "PolicyName": p.Name, "ServiceNamespace": autoscale.ServiceNamespace,
			"ResourceId": p.ResourceID.String(), "ScalableDimension": autoscale.Dimension, "PolicyType": p.Type,
			"TargetTrackingScalingPolicyConfiguration": configJSON(p.Config), "Alarms": []any{}, "CreationTime": epoch(p.CreatedAt)})
	}
	return withNext(map[string]any{"ScalingPolicies": out}, next), nil
}

func configJSON(c autoscale.TargetTracking) targetTrackingJSON {
	out := targetTrackingJSON{TargetValue: &c.TargetValue, ScaleOutCooldown: &c.ScaleOutCooldown, ScaleInCooldown: &c.ScaleInCooldown, DisableScaleIn: c.DisableScaleIn}
	if c.Predefined != "" {
		out.PredefinedMetricSpecification = &predefinedJSON{PredefinedMetricType: c.Predefined}
	}
	if m := c.Custom; m != nil {
		cj := &customJSON{MetricName: m.MetricName, Namespace: m.Namespace, Statistic: m.Statistic, Unit: m.Unit}
		for _, d := range m.Dimensions {
			cj.Dimensions = append(cj.Dimensions, dimensionJSON(d))
		}
		out.CustomizedMetricSpecification = cj
	}
	return out
}

// maxActivities bounds the activities DescribeScalingActivities pages
// through: the newest ones.
const maxActivities = 1000

func (s *Surface) describeActivities(r *http.Request, c *authn.Principal, in *describeActivitiesInput) (any, error) {
	f, err := s.describeFilter(c, in.ServiceNamespace, in.ResourceID, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	f.Limit = maxActivities
	as, err := s.Store.Activities(r.Context(), f)
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(len(as), in.MaxResults, in.NextToken, 50)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, to-from)
	for _, a := range as[from:to] {
		out = append(out, map[string]any{"ActivityId": a.ID, "ServiceNamespace": autoscale.ServiceNamespace, "ResourceId": a.ResourceID.String(),
			"ScalableDimension": autoscale.Dimension, "Description": a.Description, "Cause": a.Cause, "StartTime": epoch(a.StartTime),
			"EndTime": epoch(a.EndTime), "StatusCode": a.StatusCode, "StatusMessage": a.StatusMessage})
	}
	return withNext(map[string]any{"ScalingActivities": out}, next), nil
}

func withNext(out map[string]any, next string) map[string]any {
	if next != "" {
		out["NextToken"] = next
	}
	return out
}
