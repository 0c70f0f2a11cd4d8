package promotion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/tenant"
)

// Spec is a pipeline as applied: what to deploy where, and how to test it.
type Spec struct {
	// Name is the pipeline's name, unique in its account; a tenant's
	// pipelines are named "<tenant>" or "<tenant>--...".
	Name string `yaml:"name" json:"name"`
	// Tenant owns the pipeline, the group and the targets' roles.
	Tenant string `yaml:"tenant" json:"tenant"`
	// ModelPackageGroup is the group (of the pipeline's account) whose
	// approved versions the pipeline promotes.
	ModelPackageGroup string `yaml:"modelPackageGroup" json:"modelPackageGroup"`
	// Staging and Production are the two deployment targets.
	Staging    Target `yaml:"staging" json:"staging"`
	Production Target `yaml:"production" json:"production"`
	// SmokeTest is run against the staging endpoint.
	SmokeTest SmokeTest `yaml:"smokeTest" json:"smokeTest"`
	// Webhook, when set, receives EventBridge-shaped events.
	Webhook string `yaml:"webhook,omitempty" json:"webhook,omitempty"`
}

// Target is one environment's endpoint.
type Target struct {
	AccountID         string `yaml:"accountId" json:"accountId"`
	DeploymentRoleARN string `yaml:"deploymentRoleArn" json:"deploymentRoleArn"`
	EndpointName      string `yaml:"endpointName" json:"endpointName"`
	InstanceType      string `yaml:"instanceType" json:"instanceType"`
	InstanceCount     int    `yaml:"instanceCount" json:"instanceCount"`
	ExecutionRoleARN  string `yaml:"executionRoleArn" json:"executionRoleArn"`
	// DeploymentConfig is UpdateEndpoint's DeploymentConfig (blue/green),
	// as its JSON; nil updates the endpoint all at once.
	DeploymentConfig map[string]any `yaml:"deploymentConfig,omitempty" json:"deploymentConfig,omitempty"`
}

// SmokeTest is one invocation and what its answer must be: Expected
// (exactly, or numerically within Tolerance when both parse as numbers),
// or a number at least Threshold.
type SmokeTest struct {
	ContentType string   `yaml:"contentType" json:"contentType"`
	Payload     string   `yaml:"payload" json:"payload"`
	Expected    string   `yaml:"expected,omitempty" json:"expected,omitempty"`
	Tolerance   float64  `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
	Threshold   *float64 `yaml:"threshold,omitempty" json:"threshold,omitempty"`
}

// MaxSpecBytes bounds a spec document.
const MaxSpecBytes = 64 << 10

var (
	namePattern     = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)
	endpointPattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)
	accountPattern  = regexp.MustCompile(`^[0-9]{12}$`)
)

func invalid(format string, args ...any) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", format, args...)
}

// ParseSpec parses and validates a YAML (or JSON) spec. Unknown fields
// are refused, so a typo is an error, not a silently ignored setting.
func ParseSpec(doc []byte) (*Spec, error) {
	if len(doc) > MaxSpecBytes {
		return nil, invalid("the pipeline spec is larger than %d bytes", MaxSpecBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, invalid("parse pipeline spec: %s", firstLine(err.Error()))
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func firstLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Validate checks the spec.
func (s *Spec) Validate() error {
	if !namePattern.MatchString(s.Name) {
		return invalid("name %q must be 1-63 letters, digits and hyphens", trunc(s.Name))
	}
	if err := tenant.ValidateID(s.Tenant); err != nil {
		return invalid("tenant: %s", tenantml.ErrorMessage(err))
	}
	if s.Name != s.Tenant && !strings.HasPrefix(s.Name, s.Tenant+"--") {
		return invalid("name %q: a pipeline of tenant %s must be named %q or begin with %q", trunc(s.Name), s.Tenant, s.Tenant, s.Tenant+"--")
	}
	if !namePattern.MatchString(s.ModelPackageGroup) {
		return invalid("modelPackageGroup %q must be 1-63 letters, digits and hyphens", trunc(s.ModelPackageGroup))
	}
	if err := s.Staging.validate("staging", s.Tenant); err != nil {
		return err
	}
	if err := s.Production.validate("production", s.Tenant); err != nil {
		return err
	}
	if s.Staging.AccountID == s.Production.AccountID && s.Staging.EndpointName == s.Production.EndpointName {
		return invalid("staging and production name the same endpoint")
	}
	if s.Staging.DeploymentConfig != nil {
		return invalid("staging.deploymentConfig: staging is updated all at once; give a deploymentConfig for production only")
	}
	if err := s.SmokeTest.validate(); err != nil {
		return err
	}
	if s.Webhook != "" {
		u, err := url.Parse(s.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return invalid("webhook %q must be an http or https URL without credentials", trunc(s.Webhook))
		}
	}
	return nil
}

func (t *Target) validate(field, tenantID string) error {
	if !accountPattern.MatchString(t.AccountID) {
		return invalid("%s.accountId %q must be 12 digits", field, trunc(t.AccountID))
	}
	for _, r := range []struct{ name, v string }{{"deploymentRoleArn", t.DeploymentRoleARN}, {"executionRoleArn", t.ExecutionRoleARN}} {
		a, err := arn.Parse(r.v)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
			return invalid("%s.%s %q is not an IAM role ARN", field, r.name, trunc(r.v))
		}
		if a.AccountID != t.AccountID {
			return invalid("%s.%s %q must be a role of the target's account %s", field, r.name, trunc(r.v), t.AccountID)
		}
	}
	if !endpointPattern.MatchString(t.EndpointName) {
		return invalid("%s.endpointName %q must be 1-63 letters, digits and hyphens", field, trunc(t.EndpointName))
	}
	if t.EndpointName != tenantID && !strings.HasPrefix(t.EndpointName, tenantID+"--") {
		return invalid("%s.endpointName %q must be %q or begin with %q", field, trunc(t.EndpointName), tenantID, tenantID+"--")
	}
	if len(t.EndpointName) > 40 {
		return invalid("%s.endpointName %q must be at most 40 characters (the pipeline names models and configs after it)", field, trunc(t.EndpointName))
	}
	if !strings.HasPrefix(t.InstanceType, "ml.") || len(t.InstanceType) > 64 {
		return invalid("%s.instanceType %q must be an ml.* instance type", field, trunc(t.InstanceType))
	}
	if t.InstanceCount < 1 || t.InstanceCount > 100 {
		return invalid("%s.instanceCount must be 1-100", field)
	}
	if t.DeploymentConfig != nil {
		if _, err := json.Marshal(t.DeploymentConfig); err != nil {
			return invalid("%s.deploymentConfig is not JSON-representable: %s", field, firstLine(err.Error()))
		}
	}
	return nil
}

func (s *SmokeTest) validate() error {
	if s.ContentType == "" || len(s.ContentType) > 256 {
		return invalid("smokeTest.contentType is required")
	}
	if s.Payload == "" || len(s.Payload) > 16<<10 {
		return invalid("smokeTest.payload is required (at most 16 KiB)")
	}
	switch {
	case s.Threshold != nil && s.Expected != "":
		return invalid("smokeTest: give expected or threshold, not both")
	case s.Threshold == nil && s.Expected == "":
		return invalid("smokeTest: give expected (with an optional tolerance) or threshold")
	case s.Tolerance < 0 || math.IsNaN(s.Tolerance) || math.IsInf(s.Tolerance, 0):
		return invalid("smokeTest.tolerance must be a non-negative number")
	case s.Threshold != nil && (math.IsNaN(*s.Threshold) || math.IsInf(*s.Threshold, 0)):
		return invalid("smokeTest.threshold must be a number")
	}
	return nil
}

// Check compares an answer of the model with what the smoke test
// expects; the error says why it does not pass.
func (s *SmokeTest) Check(answer []byte) error {
	got := strings.TrimSpace(string(answer))
	if s.Threshold != nil {
		v, ok := number(got)
		if !ok {
			return fmt.Errorf("the answer %q is not a number", trunc(got))
		}
		if v < *s.Threshold {
			return fmt.Errorf("the answer %g is below the threshold %g", v, *s.Threshold)
		}
		return nil
	}
	want := strings.TrimSpace(s.Expected)
	if got == want {
		return nil
	}
	gv, gok := numbers(got)
	wv, wok := numbers(want)
	if gok && wok && len(gv) == len(wv) {
		for i := range gv {
			if math.Abs(gv[i]-wv[i]) > s.Tolerance {
				return fmt.Errorf("the answer %q differs from the expected %q by more than %g", trunc(got), trunc(want), s.Tolerance)
			}
		}
		return nil
	}
	return fmt.Errorf("the answer %q is not the expected %q", trunc(got), trunc(want))
}

// number parses a single number, also as a one-element JSON array.
func number(s string) (float64, bool) {
	vs, ok := numbers(s)
	if !ok || len(vs) != 1 {
		return 0, false
	}
	return vs[0], true
}

// numbers parses a number, a JSON array of numbers, or comma/newline
// separated numbers (CSV answers).
func numbers(s string) ([]float64, bool) {
	var arr []float64
	if err := json.Unmarshal([]byte(s), &arr); err == nil {
		return arr, len(arr) > 0
	}
	var one float64
	if err := json.Unmarshal([]byte(s), &one); err == nil {
		return []float64{one}, true
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' })
	if len(fields) == 0 {
		return nil, false
	}
	out := make([]float64, 0, len(fields))
	for _, f := range fields {
		var v float64
		if err := json.Unmarshal([]byte(f), &v); err != nil {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
