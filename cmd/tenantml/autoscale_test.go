package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/identity"
)

// TestServe_AutoscalingWithAWSCLI: acme's administrator drives Application
// Auto Scaling with the real AWS CLI — registers its silo endpoint's
// variant (1 to 3 instances), puts a target-tracking policy on
// SageMakerVariantInvocationsPerInstance — and evaluation ticks, driven
// by the test on the server's clock, scale the real endpoint's workers out
// under load and back in once it is idle, while requests keep flowing
// (none is dropped). DescribeEndpoint shows the counts,
// DescribeScalingActivities and the audit log the activities; bad input is
// a ValidationException.
func TestServe_AutoscalingWithAWSCLI(t *testing.T) {
	ctx := context.Background()
	clock := &offsetClock{}
	env := servingEnv(t)
	env["TENANTML_AUTOSCALE_INTERVAL"] = "10m" // the test ticks
	ts := startServerClock(t, env, clock.now)
	m := models(t)
	createTenant(t, ts, "acme", "silo")
	// The load below is not limited by the basic tier.
	mustSend(t, ts, rootPrincipal(), manageRequest(http.MethodPut, "/api/v1/tenants/acme/quotas", []byte(`{"invocationsPerSecond":100000,"invocationBurst":100000,"concurrentInvocations":-1}`)))
	res := deployModel(t, ts, "acme", m.model(t, 0))
	session := sessionPrincipal("acme", brokerSession(t, ts, res.InvokeRole, "acme"))

	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("acme-admin"),
		Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("acme-admin"), PolicyArn: aws.String(identity.BuiltinARNPrefix + identity.TenantAdmin)}); err != nil {
		t.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("acme-admin")})
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
	cli := func(args ...string) (string, error) { return awsCLI(t, ts, keyID, secret, "", args...) }
	mustCLI := func(out any, args ...string) {
		t.Helper()
		s, err := cli(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, s)
		}
		if out != nil {
			if err := json.Unmarshal([]byte(s), out); err != nil {
				t.Fatalf("aws %s: %v in %s", strings.Join(args, " "), err, s)
			}
		}
	}
	const rid = "endpoint/acme/variant/AllTraffic"
	target := []string{"--service-namespace", "sagemaker", "--scalable-dimension", "sagemaker:variant:DesiredInstanceCount", "--resource-id", rid}
	aas := func(op string, rest ...string) []string {
		return append(append([]string{"application-autoscaling", op}, target...), rest...)
	}

	t.Run("BadInput", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			args []string
			msg  string
		}{
			{"MinZero", aas("register-scalable-target", "--min-capacity", "0", "--max-capacity", "2"), "MinCapacity"},
			{"MaxBelowMin", aas("register-scalable-target", "--min-capacity", "3", "--max-capacity", "2"), "MaxCapacity"},
			{"NewWithoutBounds", aas("register-scalable-target"), "required"},
			{"BadResourceId", []string{"application-autoscaling", "register-scalable-target", "--service-namespace", "sagemaker",
				"--scalable-dimension", "sagemaker:variant:DesiredInstanceCount", "--resource-id", "endpoint/acme", "--min-capacity", "1", "--max-capacity", "2"}, "ResourceId"},
			{"OtherNamespace", []string{"application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
				"--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/default/web", "--min-capacity", "1", "--max-capacity", "2"}, "ServiceNamespace"},
			{"MissingVariant", []string{"application-autoscaling", "register-scalable-target", "--service-namespace", "sagemaker",
				"--scalable-dimension", "sagemaker:variant:DesiredInstanceCount", "--resource-id", "endpoint/acme/variant/Other", "--min-capacity", "1", "--max-capacity", "2"}, "does not exist"},
			{"StepScaling", aas("put-scaling-policy", "--policy-name", "p", "--policy-type", "StepScaling",
				"--step-scaling-policy-configuration", `{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"ScalingAdjustment":1,"MetricIntervalLowerBound":0}]}`), "PolicyType"},
			{"ZeroTarget", aas("put-scaling-policy", "--policy-name", "p", "--policy-type", "TargetTrackingScaling",
				"--target-tracking-scaling-policy-configuration", `{"TargetValue":0,"PredefinedMetricSpecification":{"PredefinedMetricType":"SageMakerVariantInvocationsPerInstance"}}`), "TargetValue"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				out, err := cli(tt.args...)
				if err == nil || !strings.Contains(out, "ValidationException") || !strings.Contains(out, tt.msg) {
					t.Errorf("aws %s: %v\n%s\nwant a ValidationException about %s", strings.Join(tt.args, " "), err, out, tt.msg)
				}
			})
		}
		if out, err := cli(aas("delete-scaling-policy", "--policy-name", "none")...); err == nil || !strings.Contains(out, "ObjectNotFoundException") {
			t.Errorf("delete of a missing policy: %v\n%s", err, out)
		}
	})

	// Debian's CLI predates RegisterScalableTarget's ScalableTargetARN
	// output: it prints nothing.
	mustCLI(nil, aas("register-scalable-target", "--min-capacity", "1", "--max-capacity", "3")...)
	var targets struct {
		ScalableTargets []struct {
			ResourceId               string
			MinCapacity, MaxCapacity int
		}
	}
	mustCLI(&targets, "application-autoscaling", "describe-scalable-targets", "--service-namespace", "sagemaker")
	if len(targets.ScalableTargets) != 1 || targets.ScalableTargets[0].ResourceId != rid || targets.ScalableTargets[0].MaxCapacity != 3 {
		t.Fatalf("describe-scalable-targets: %+v", targets)
	}
	var put struct{ PolicyARN string }
	mustCLI(&put, aas("put-scaling-policy", "--policy-name", "invocations", "--policy-type", "TargetTrackingScaling",
		"--target-tracking-scaling-policy-configuration",
		`{"TargetValue":60,"PredefinedMetricSpecification":{"PredefinedMetricType":"SageMakerVariantInvocationsPerInstance"},"ScaleOutCooldown":60,"ScaleInCooldown":120}`)...)
	var policies struct {
		ScalingPolicies []struct {
			PolicyName                               string
			TargetTrackingScalingPolicyConfiguration struct {
				TargetValue                       float64
				ScaleOutCooldown, ScaleInCooldown int
			}
		}
	}
	mustCLI(&policies, "application-autoscaling", "describe-scaling-policies", "--service-namespace", "sagemaker", "--resource-id", rid)
	if len(policies.ScalingPolicies) != 1 || policies.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.ScaleInCooldown != 120 ||
		policies.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.TargetValue != 60 {
		t.Fatalf("describe-scaling-policies: %+v", policies)
	}

	instances := func() (int, int) {
		t.Helper()
		var d struct {
			ProductionVariants []struct{ CurrentInstanceCount, DesiredInstanceCount int }
		}
		mustCLI(&d, "sagemaker", "describe-endpoint", "--endpoint-name", "acme")
		if len(d.ProductionVariants) != 1 {
			t.Fatalf("describe-endpoint: %+v", d)
		}
		return d.ProductionVariants[0].CurrentInstanceCount, d.ProductionVariants[0].DesiredInstanceCount
	}
	tick := func() int {
		t.Helper()
		as, err := ts.as.scaler.Tick(ctx)
		if err != nil {
			t.Fatalf("tick: %v", err)
		}
		return len(as)
	}
	invoke := func() {
		r := mustSend(t, ts, session, invokeRequest("acme", "", m.rows))
		if m.which(r.body) != 0 {
			t.Fatalf("answer %s", r.body)
		}
	}
	watch := watchAudit(ts)

	// The first tick only samples: no full window yet.
	if n := tick(); n != 0 {
		t.Fatalf("the first tick scaled (%d activities)", n)
	}
	for range 300 {
		invoke()
	}
	clock.advance(time.Minute)
	// 300 invocations a minute on one instance against a target of 60:
	// five instances asked, three (MaxCapacity) granted.
	if n := tick(); n != 1 {
		t.Fatalf("scale-out tick: %d activities, want 1", n)
	}
	if cur, desired := instances(); cur != 3 || desired != 3 {
		t.Fatalf("after scale-out: %d instances (desired %d), want 3", cur, desired)
	}
	invoke() // the three new workers answer

	// Idle, but within the scale-out cooldown (60 s): nothing changes.
	clock.advance(30 * time.Second)
	if n := tick(); n != 0 {
		t.Fatalf("a tick within the scale-out cooldown scaled")
	}

	// Idle past the cooldown, while a light load keeps flowing: scale in
	// to MinCapacity, draining, with every request answered.
	clock.advance(2 * time.Minute)
	var (
		stop     = make(chan struct{})
		answered = newLoadCounter()
		failures = make(chan string, 1<<12)
		wg       sync.WaitGroup
	)
	for range 2 {
		repeat(&wg, stop, 0, func() {
			r, err := trySend(t, ts, session, invokeRequest("acme", "", m.rows))
			switch {
			case err != nil:
				failures <- err.Error()
			case r.status != http.StatusOK:
				failures <- string(r.body)
			}
			answered.add()
		})
	}
	if !answered.waitFor(10, stop) {
		t.Fatal("no load")
	}
	if n := tick(); n != 1 {
		t.Fatalf("scale-in tick: %d activities, want 1", n)
	}
	at := answered.count()
	answered.waitFor(at+10, stop)
	close(stop)
	answered.cond.Broadcast()
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("a request failed during the scale-in: %s", f)
	}
	if cur, _ := instances(); cur != 1 {
		t.Fatalf("after scale-in: %d instances, want 1", cur)
	}

	var acts struct {
		ScalingActivities []struct{ ResourceId, Description, StatusCode, Cause string }
	}
	mustCLI(&acts, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "sagemaker", "--resource-id", rid)
	if len(acts.ScalingActivities) != 2 {
		t.Fatalf("describe-scaling-activities: %+v", acts)
	}
	for i, want := range []string{"Setting desired instance count to 1.", "Setting desired instance count to 3."} {
		a := acts.ScalingActivities[i]
		if a.Description != want || a.StatusCode != "Successful" || a.ResourceId != rid || !strings.Contains(a.Cause, "policy invocations") {
			t.Errorf("activity %d: %+v, want %q Successful", i, a, want)
		}
	}
	var scaled []string
	for _, ev := range watch.read(t) {
		if ev.EventType == audit.TypeServiceEvent && ev.EventName == "ScalingActivity" {
			if ev.TenantID != "acme" || ev.AdditionalEventData["resourceId"] != rid {
				t.Errorf("scaling event %+v", ev)
			}
			scaled = append(scaled, ev.AdditionalEventData["fromInstanceCount"]+"->"+ev.AdditionalEventData["toInstanceCount"])
		}
	}
	if strings.Join(scaled, ",") != "1->3,3->1" {
		t.Errorf("audited scaling activities %v, want [1->3 3->1]", scaled)
	}

	mustCLI(nil, aas("delete-scaling-policy", "--policy-name", "invocations")...)
	mustCLI(nil, aas("deregister-scalable-target")...)
	mustCLI(&targets, "application-autoscaling", "describe-scalable-targets", "--service-namespace", "sagemaker")
	if len(targets.ScalableTargets) != 0 {
		t.Errorf("targets after deregistering: %+v", targets)
	}
	if out, err := cli(aas("deregister-scalable-target")...); err == nil || !strings.Contains(out, "ObjectNotFoundException") {
		t.Errorf("second deregister: %v\n%s", err, out)
	}
}
