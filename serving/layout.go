package serving

import (
	"strings"

	"github.com/tenantml/tenantml/tenant"
)

// The names onboarding gives each isolation model's resources, and the
// invoke policies it attaches — the seed scenario's, verbatim. `tenantml
// model deploy` creates them; the tenant gateway routes by them.
const (
	// PoolEndpointName is the shared multi-model endpoint of pool tenants.
	PoolEndpointName = "pool-endpoint"
	// PoolRoleName is the shared invoke role of pool tenants (Policy 2).
	PoolRoleName = "pool-invoke"
	// BridgeRoleName is the shared invoke role of bridge tenants (Policy 3).
	BridgeRoleName = "bridge-invoke"
)

// Route is where a tenant's invocations go in its isolation model: the
// invoke role its sessions assume, the endpoint and, for the pool, the
// TargetModel.
type Route struct {
	RoleName    string
	Endpoint    string
	TargetModel string
}

// RouteOf returns the route of tenant t in isolation model iso: silo — the
// tenant's own role and endpoint, both named t; pool — the shared pool role
// and endpoint with TargetModel "<t>.tar.gz"; bridge — the shared bridge
// role and the endpoint named t.
func RouteOf(t string, iso tenant.Isolation) Route {
	switch iso {
	case tenant.Silo:
		return Route{RoleName: t, Endpoint: t}
	case tenant.Bridge:
		return Route{RoleName: BridgeRoleName, Endpoint: t}
	}
	return Route{RoleName: PoolRoleName, Endpoint: PoolEndpointName, TargetModel: PoolModelKey(t)}
}

// PoolModelKey is a pool tenant's object under the pool endpoint's prefix.
func PoolModelKey(t string) string { return t + ".tar.gz" }

// InvokePolicy returns the invoke policy of isolation model iso for tenant
// t (silo) in region and account: the seed scenario's Policy 1, 2 or 3.
func InvokePolicy(iso tenant.Isolation, region, acct, t string) string {
	endpoint := "arn:aws:sagemaker:" + region + ":" + acct + ":endpoint/"
	switch iso {
	case tenant.Silo:
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"` + endpoint + strings.ToLower(t) + `"}]}`
	case tenant.Bridge:
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"` + endpoint + `${aws:PrincipalTag/TenantID}"}]}`
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`
}
