package runtime

import (
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/serving"
)

// Resolver resolves what a request naming an endpoint and, on a
// multi-model endpoint, a TargetModel acts on — the one resolution
// InvokeEndpoint and the Open Inference Protocol (api/oip) share, so that
// the same policies decide both the same way:
//
//   - the endpoint name is validated as SageMaker validates it;
//   - the TargetModel is normalised (serving.NormalizeTargetModel) before
//     any policy or storage access, and the normalised value is both the
//     condition key sagemaker:TargetModel and the key the data plane loads;
//   - the resource is the endpoint's ARN with its tenant and tags, from the
//     data plane's live endpoints (no store read);
//   - on a shared multi-model endpoint, a tenant principal reaches only
//     models its tenant owns: another tenant's object answers exactly as a
//     missing model, whatever the policies say.
type Resolver struct {
	Data      serving.DataPlane
	Region    string
	AccountID string
}

// CallerAccount is the account of r's authenticated caller, else def: an
// endpoint is invoked in its caller's own account (SageMaker Runtime
// reaches no other account's endpoint).
func CallerAccount(r *http.Request, def string) string {
	if c, _ := authn.FromContext(r.Context()); c != nil && c.Account != "" {
		return c.Account
	}
	return def
}

// Missing are an operation's answers for what does not exist (and, to a
// tenant principal, for what another tenant owns): its protocol's words
// for a missing endpoint and a missing model.
type Missing struct {
	Endpoint func(endpoint string) error
	Model    func(endpoint, targetModel string) error
}

// Resolved is a resolved request: the pipeline's target, the normalised
// TargetModel ("" when none was named) and the live endpoint (nil when
// none is deployed under the name).
type Resolved struct {
	Target      *api.Target
	TargetModel string
	Endpoint    *serving.LiveEndpoint
}

// Resolve resolves endpoint name and the raw TargetModel tm ("" for none)
// for r, whose caller the pipeline has authenticated.
func (rs *Resolver) Resolve(r *http.Request, name, tm string, missing Missing) (*Resolved, error) {
	if err := serving.ValidateName("endpointName", name); err != nil {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "%s", tenantml.ErrorMessage(err))
	}
	acct := CallerAccount(r, rs.AccountID)
	t := &api.Target{Resource: authz.Resource{ARN: serving.ARN(rs.Region, acct, serving.KindEndpoint, name)}, NotFound: missing.Endpoint(name)}
	out := &Resolved{Target: t}
	if tm != "" {
		norm, err := serving.NormalizeTargetModel(tm)
		if err != nil {
			return nil, err
		}
		out.TargetModel = norm
		t.Context = iam.Context{iam.Single("sagemaker:TargetModel", norm)}
		t.Parameters = map[string]any{"targetModel": norm}
	}
	ep, ok := rs.Data.Endpoint(acct, name)
	if !ok {
		return out, nil
	}
	out.Endpoint = ep
	t.Tenant, t.Tags = ep.Tenant, ep.Tags
	if ep.Multi && out.TargetModel != "" {
		// Whatever the policies say, a tenant's principal reaches only
		// models its tenant owns: another tenant's object under a shared
		// prefix answers as a missing model.
		owner, found, err := rs.Data.ResolveModel(r.Context(), ep, out.TargetModel)
		if err != nil {
			return nil, err
		}
		if c, _ := authn.FromContext(r.Context()); found && c != nil && c.TenantID != "" && owner != c.TenantID {
			t.Hide = missing.Model(name, out.TargetModel)
		}
	}
	return out, nil
}
