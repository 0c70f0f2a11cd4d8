package identity_test

import (
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
)

func TestCheckTenantTag(t *testing.T) {
	tests := []struct {
		name   string
		caller string
		tags   map[string]string
		ok     bool
	}{
		{"OwnTenant", "acme", map[string]string{"TenantID": "acme", "team": "ml"}, true},
		{"OwnTenantKeyInOtherCase", "acme", map[string]string{"tenantid": "acme"}, true},
		{"PlatformCreatesAnything", "", map[string]string{"TenantID": "globex"}, true},
		{"PlatformCreatesUntagged", "", nil, true},
		{"ErrUntagged", "acme", nil, false},
		{"ErrOtherTags", "acme", map[string]string{"team": "ml"}, false},
		{"ErrOtherTenant", "acme", map[string]string{"TenantID": "globex"}, false},
		{"ErrOtherTenantKeyInOtherCase", "acme", map[string]string{"TENANTID": "globex"}, false},
		{"ErrEmptyValue", "acme", map[string]string{"TenantID": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := identity.CheckTenantTag(tt.caller, tt.tags)
			if got := err == nil; got != tt.ok {
				t.Fatalf("CheckTenantTag(%q, %v) = %v, want ok %v", tt.caller, tt.tags, err, tt.ok)
			}
			if err != nil && tenantml.AWSCodeOf(err) != identity.InvalidInput {
				t.Fatalf("code = %q, want InvalidInput", tenantml.AWSCodeOf(err))
			}
		})
	}
}
