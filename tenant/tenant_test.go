package tenant_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/tenant"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		id   string
		want string // error code, "" for valid
	}{
		{"acme", ""},
		{"a1b", ""},
		{"tenant-a", ""},
		{strings.Repeat("a", 63), ""},
		{"ab", tenantml.EINVALID},
		{strings.Repeat("a", 64), tenantml.EINVALID},
		{"Acme", tenantml.EINVALID},
		{"-acme", tenantml.EINVALID},
		{"acme-", tenantml.EINVALID},
		{"ac_me", tenantml.EINVALID},
		{"ac.me", tenantml.EINVALID},
		{"192.168.0.1", tenantml.EINVALID},
		{"192-168-0-1", tenantml.EINVALID},
		{"ac--me", tenantml.EINVALID},
		{"ac-me", ""},
		{"admin", tenantml.EINVALID},
		{"system", tenantml.EINVALID},
		{"platform", tenantml.EINVALID},
		{"shared", tenantml.EINVALID},
		{"acme\x00", tenantml.EINVALID},
		{"", tenantml.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := tenant.ValidateID(tt.id)
			if got := tenantml.ErrorCode(err); got != tt.want {
				t.Fatalf("ValidateID(%q) = %v, want code %q", tt.id, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "tenant ID") {
				t.Fatalf("error %q does not say what is wrong", err)
			}
		})
	}
}

func TestTenant_Validate(t *testing.T) {
	valid := func() tenant.Tenant {
		return tenant.Tenant{ID: "acme", Isolation: tenant.Bridge, Tier: "basic", HomeRegion: "eu-west-1"}
	}
	tests := []struct {
		name   string
		mutate func(*tenant.Tenant)
		want   string
	}{
		{"OK", func(*tenant.Tenant) {}, ""},
		{"ErrIsolation", func(t *tenant.Tenant) { t.Isolation = "hybrid" }, "isolation"},
		{"ErrRegion", func(t *tenant.Tenant) { t.HomeRegion = "mars" }, "region"},
		{"ErrTier", func(t *tenant.Tenant) { t.Tier = "" }, "tier"},
		{"ErrAWSTag", func(t *tenant.Tenant) { t.Tags = map[string]string{"aws:TenantID": "x"} }, "reserved"},
		{"ErrTagCase", func(t *tenant.Tenant) { t.Tags = map[string]string{"Team": "a", "team": "b"} }, "case"},
		{"ErrTagValue", func(t *tenant.Tenant) { t.Tags = map[string]string{"k": strings.Repeat("v", 257)} }, "value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := valid()
			tt.mutate(&tn)
			err := tn.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Fatalf("Validate() = %v, want EINVALID mentioning %q", err, tt.want)
			}
		})
	}
}

func TestTransition(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tn := &tenant.Tenant{ID: "acme", Status: tenant.PendingDeletion}
	if err := tenant.Transition(tn, tenant.Active, now); tenantml.ErrorCode(err) != tenantml.ECONFLICT {
		t.Fatalf("pending_deletion → active: %v, want conflict", err)
	}
	if tn.Status != tenant.PendingDeletion {
		t.Fatal("refused transition changed the status")
	}
	tn.Status = tenant.Suspended
	if err := tenant.Transition(tn, tenant.PendingDeletion, now); err != nil {
		t.Fatal(err)
	}
	if tn.DeletionRequestedAt == nil || !tn.DeletionRequestedAt.Equal(now) {
		t.Fatalf("deletion time = %v, want %v", tn.DeletionRequestedAt, now)
	}
}
