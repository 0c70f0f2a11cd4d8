package manage

import (
	"net/http"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/tenant"
)

// tenantTarget resolves the tenant a route names in its path parameter
// param: the resource arn(id) and, when id is a valid tenant ID, the
// tenant it belongs to. Another tenant's (or a missing one's) resource
// answers a tenant principal exactly as a missing tenant does.
func tenantTarget(arn func(r *http.Request) string, param string) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return func(r *http.Request, _ *authn.Principal) (*api.Target, error) {
		id := r.PathValue(param)
		t := &api.Target{Resource: authz.Resource{ARN: arn(r)}, NotFound: tenant.ErrNotFound(id)}
		if tenant.ValidateID(id) == nil {
			t.Tenant = id
		}
		return t, nil
	}
}

// fixedTarget is the target of routes on a collection or the whole
// account.
func fixedTarget(arn string) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return api.At(arn)
}
