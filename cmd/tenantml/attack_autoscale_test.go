package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tenantml/tenantml/autoscale"
)

// The cross-tenant templates of Application Auto Scaling. globex's side
// is its InService endpoint's variant, registered as a scalable target
// with a policy and an activity (autoscaleFixture); the platform's side
// is the platform's endpoint, which no tenant may see; the missing side
// names an endpoint of the same shape that does not exist. Operations
// naming a ResourceId are decided on the endpoint's tenant and answered
// as for a missing endpoint; the Describe operations are listings that
// must name nothing of globex's, whatever ResourceId they filter on.

// aasRequest is an Application Auto Scaling request (JSON 1.1).
func aasRequest(op string, in any) signedRequest {
	b, err := json.Marshal(in)
	if err != nil {
		panic(err) // test inputs are plain maps
	}
	return signedRequest{method: http.MethodPost, path: "/", service: "application-autoscaling", body: b,
		header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"AnyScaleFrontendService." + op}}}
}

// autoscaleFixture registers globex's endpoint's variant and the
// platform's pool as scalable targets, with a policy each, and records a
// scaling activity of globex's.
func (e *attackEnv) autoscaleFixture(t *testing.T) {
	t.Helper()
	s := &e.sv
	for _, ep := range []string{s.endpoint, s.pool} {
		rid := "endpoint/" + ep + "/variant/AllTraffic"
		target := map[string]any{"ServiceNamespace": "sagemaker", "ScalableDimension": autoscale.Dimension, "ResourceId": rid}
		reg := map[string]any{"MinCapacity": 1, "MaxCapacity": 2}
		pol := map[string]any{"PolicyName": "invocations", "PolicyType": "TargetTrackingScaling",
			"TargetTrackingScalingPolicyConfiguration": map[string]any{"TargetValue": 100, "PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": autoscale.InvocationsPerInstance}}}
		for k, v := range target {
			reg[k], pol[k] = v, v
		}
		e.mustOK(t, e.root, aasRequest("RegisterScalableTarget", reg))
		e.mustOK(t, e.root, aasRequest("PutScalingPolicy", pol))
	}
	now := time.Now()
	if err := e.ts.store.Autoscaling().AddActivity(context.Background(), &autoscale.Activity{TenantID: "globex", AccountID: e.acct, ID: "globex-activity",
		ResourceID: autoscale.ResourceID{Endpoint: s.endpoint, Variant: "AllTraffic"}, From: 1, To: 2, Description: "Setting desired instance count to 2.",
		Cause: "policy invocations", StatusCode: autoscale.StatusSuccessful, StartTime: now, EndTime: now}); err != nil {
		t.Fatal(err)
	}
}

// autoscaleCases are Application Auto Scaling's templates.
func autoscaleCases() []crossCase {
	op := func(name, variant string, in func(x *crossTarget) map[string]any) crossCase {
		return crossCase{op: "AnyScaleFrontendService." + name, variant: variant, build: func(x *crossTarget) signedRequest { return aasRequest(name, in(x)) }}
	}
	target := func(endpoint string, more map[string]any) map[string]any {
		in := map[string]any{"ServiceNamespace": "sagemaker", "ScalableDimension": autoscale.Dimension, "ResourceId": "endpoint/" + endpoint + "/variant/AllTraffic"}
		for k, v := range more {
			in[k] = v
		}
		return in
	}
	policy := map[string]any{"PolicyName": "invocations", "PolicyType": "TargetTrackingScaling",
		"TargetTrackingScalingPolicyConfiguration": map[string]any{"TargetValue": 5, "PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": autoscale.InvocationsPerInstance}}}
	named := map[string]map[string]any{
		"RegisterScalableTarget":   {"MinCapacity": 1, "MaxCapacity": 3},
		"DeregisterScalableTarget": nil,
		"PutScalingPolicy":         policy,
		"DeleteScalingPolicy":      {"PolicyName": "invocations"},
	}
	var out []crossCase
	for name, more := range named {
		out = append(out, op(name, "endpoint", func(x *crossTarget) map[string]any { return target(x.endpoint, more) }))
		plat := op(name, "platform", func(x *crossTarget) map[string]any { return target(x.platEndpoint, more) })
		plat.platform = true
		out = append(out, plat)
	}
	list := func(c crossCase) crossCase { c.kind = crossList; return c }
	out = append(out,
		list(op("DescribeScalableTargets", "", func(x *crossTarget) map[string]any {
			return map[string]any{"ServiceNamespace": "sagemaker", "ResourceIds": []string{"endpoint/" + x.endpoint + "/variant/AllTraffic", "endpoint/" + x.platEndpoint + "/variant/AllTraffic"}}
		})),
		list(op("DescribeScalingPolicies", "", func(x *crossTarget) map[string]any {
			return map[string]any{"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/" + x.endpoint + "/variant/AllTraffic", "PolicyNames": []string{"invocations"}}
		})),
		list(op("DescribeScalingActivities", "", func(x *crossTarget) map[string]any {
			return map[string]any{"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/" + x.endpoint + "/variant/AllTraffic"}
		})),
	)
	return out
}
