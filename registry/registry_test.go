package registry_test

import (
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/registry"
)

const (
	region = "us-east-1"
	acct   = "111122223333"
)

func TestParsePackageName(t *testing.T) {
	tests := []struct {
		in      string
		want    registry.PackageRef
		ours    bool
		invalid bool
	}{
		{in: "acme--churn/1", want: registry.PackageRef{Group: "acme--churn", Version: 1}, ours: true},
		{in: "arn:aws:sagemaker:us-east-1:111122223333:model-package/acme--churn/12", want: registry.PackageRef{Group: "acme--churn", Version: 12}, ours: true},
		{in: "arn:aws:sagemaker:us-east-1:999999999999:model-package/acme--churn/2", want: registry.PackageRef{Group: "acme--churn", Version: 2}},
		{in: "arn:aws:sagemaker:eu-west-1:111122223333:model-package/acme--churn/2", want: registry.PackageRef{Group: "acme--churn", Version: 2}},
		{in: "acme--churn", invalid: true},
		{in: "acme--churn/0", invalid: true},
		{in: "acme--churn/01", invalid: true},
		{in: "acme--churn/-1", invalid: true},
		{in: "acme--churn/1/2", invalid: true},
		{in: "acme_churn/1", invalid: true},
		{in: "/1", invalid: true},
		{in: "arn:aws:sagemaker:us-east-1:111122223333:model/acme--churn", invalid: true},
		{in: "arn:aws:s3:::model-package/acme--churn/1", invalid: true},
		{in: "acme--churn/99999999999999999999", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ours, err := registry.ParsePackageName(region, acct, tt.in)
			if tt.invalid {
				if tenantml.ErrorCode(err) != tenantml.EINVALID {
					t.Fatalf("err = %v, want EINVALID", err)
				}
				return
			}
			if err != nil || got != tt.want || ours != tt.ours {
				t.Fatalf("got %+v, ours %v, %v; want %+v, ours %v", got, ours, err, tt.want, tt.ours)
			}
		})
	}
}

func validPackage() *registry.Package {
	return &registry.Package{GroupName: "acme--churn", ApprovalStatus: registry.PendingManualApproval,
		Inference: registry.InferenceSpecification{Containers: []registry.Container{{Image: "tenantml/xgboost",
			ModelDataURL: "s3://b/k.tar.gz", ModelDataSHA256: strings.Repeat("0a", 32), ModelDataSize: 10}}}}
}

func TestPackage_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *registry.Package)
		ok     bool
	}{
		{"OK", func(*registry.Package) {}, true},
		{"NoModelData", func(p *registry.Package) {
			c := &p.Inference.Containers[0]
			c.ModelDataURL, c.ModelDataSHA256, c.ModelDataSize = "", "", 0
		}, true},
		{"ErrNotPinned", func(p *registry.Package) { p.Inference.Containers[0].ModelDataSHA256 = "" }, false},
		{"ErrUpperHex", func(p *registry.Package) { p.Inference.Containers[0].ModelDataSHA256 = strings.Repeat("0A", 32) }, false},
		{"ErrPinWithoutData", func(p *registry.Package) { p.Inference.Containers[0].ModelDataURL = "" }, false},
		{"ErrPrefix", func(p *registry.Package) { p.Inference.Containers[0].ModelDataURL = "s3://b/prefix/" }, false},
		{"ErrNotS3", func(p *registry.Package) { p.Inference.Containers[0].ModelDataURL = "file:///etc/passwd" }, false},
		{"ErrNoContainers", func(p *registry.Package) { p.Inference.Containers = nil }, false},
		{"ErrStatus", func(p *registry.Package) { p.ApprovalStatus = "approved" }, false},
		{"ErrGroup", func(p *registry.Package) { p.GroupName = "a b" }, false},
		{"ErrDescription", func(p *registry.Package) { p.Description = strings.Repeat("x", 1025) }, false},
		{"ErrInvalidUTF8", func(p *registry.Package) { p.Description = "\xff" }, false},
		{"ErrMetadataKey", func(p *registry.Package) { p.CustomerMetadata = map[string]string{"AWS:x": "y"} }, false},
		{"ErrMetrics", func(p *registry.Package) {
			p.Metrics = map[string]registry.MetricsSource{"Bias.Report": {ContentType: "a", S3URI: "nope"}}
		}, false},
		{"Metrics", func(p *registry.Package) {
			p.Metrics = map[string]registry.MetricsSource{"Bias.Report": {ContentType: "a", S3URI: "s3://b/r.json"}}
		}, true},
		{"ErrContentTypes", func(p *registry.Package) { p.Inference.SupportedContentTypes = []string{""} }, false},
		{"ErrEnvironment", func(p *registry.Package) { p.Inference.Containers[0].Environment = map[string]string{"": "x"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPackage()
			tt.change(p)
			err := p.Validate()
			if tt.ok != (err == nil) || (err != nil && tenantml.ErrorCode(err) != tenantml.EINVALID) {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestARNs(t *testing.T) {
	if got, want := registry.GroupARN(region, acct, "Acme--Churn"), "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/acme--churn"; got != want {
		t.Errorf("GroupARN = %s, want %s", got, want)
	}
	if got, want := registry.PackageARN(region, acct, "Acme--Churn", 3), "arn:aws:sagemaker:us-east-1:111122223333:model-package/acme--churn/3"; got != want {
		t.Errorf("PackageARN = %s, want %s", got, want)
	}
}
