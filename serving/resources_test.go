package serving_test

import (
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
)

func TestCheckTenantName(t *testing.T) {
	tests := []struct {
		tenant, name string
		ok           bool
	}{
		{"", "anything", true},
		{"acme", "acme", true},
		{"acme", "acme--churn", true},
		{"acme", "acme-corp", false},
		{"acme", "acme-corp--x", false},
		{"acme", "globex", false},
		{"acme", "ACME--x", false},
		{"acme-corp", "acme-corp--x", true},
	}
	for _, tt := range tests {
		err := serving.CheckTenantName(tt.tenant, "EndpointName", tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckTenantName(%q, %q) = %v, want ok %v", tt.tenant, tt.name, err, tt.ok)
		}
		if err != nil && tenantml.AWSCodeOf(err) != "ValidationException" {
			t.Errorf("code %q", tenantml.AWSCodeOf(err))
		}
	}
}

func TestOwnerOf(t *testing.T) {
	tests := []struct {
		caller string
		tags   map[string]string
		want   string
		ok     bool
	}{
		{"acme", nil, "acme", true},
		{"acme", map[string]string{"TenantID": "acme"}, "acme", true},
		{"acme", map[string]string{"tenantid": "globex"}, "", false},
		{"", map[string]string{"TenantID": "globex"}, "globex", true},
		{"", nil, "", true},
		{"", map[string]string{"TenantID": "Not/Valid"}, "", false},
	}
	for _, tt := range tests {
		got, err := serving.OwnerOf(tt.caller, tt.tags)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("OwnerOf(%q, %v) = %q, %v", tt.caller, tt.tags, got, err)
		}
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{"a": true, "pool-endpoint": true, "a--b": true, "-a": false, "a-": false, "a_b": false, "": false, string(make([]byte, 64)): false} {
		if err := serving.ValidateName("EndpointName", name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v", name, err)
		}
	}
}

func TestARN(t *testing.T) {
	a := serving.ARN("us-east-1", "111122223333", serving.KindEndpoint, "Acme--Churn")
	if a != "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme--churn" {
		t.Fatalf("ARN = %s", a)
	}
	kind, name, err := serving.ParseARN(a)
	if err != nil || kind != serving.KindEndpoint || name != "acme--churn" {
		t.Fatalf("ParseARN = %s %s %v", kind, name, err)
	}
	if _, _, err := serving.ParseARN("arn:aws:iam::111122223333:role/x"); err == nil {
		t.Fatal("an IAM ARN parsed as SageMaker's")
	}
}
