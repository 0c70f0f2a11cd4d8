// Package gateway is the tenant gateway: the managed cloud's API Gateway
// and Lambda authorizer in front of SageMaker, built in. A tenant's
// application calls
//
//	POST /tenant/v1/invocations
//	Authorization: Bearer <JWT from the configured OpenID Connect provider>
//	Content-Type: text/csv | application/json
//
// and the gateway verifies the token (signature, issuer, audience, expiry)
// with the account's registered provider, maps its tenant claim to
// TenantID through the provider's claim mapping, takes a session of the
// invoke role of the tenant's isolation model (serving.RouteOf: the
// tenant's own silo role, or the shared pool or bridge role with the
// TenantID session tag — sts.SessionTenant decides the tenant, as for any
// session), and invokes the tenant's endpoint (and, in the pool, its
// TargetModel) through the same pipeline as InvokeEndpoint: the invoke
// role's policies decide, the request is audited. Nothing in the request
// chooses the endpoint or the model: a tenant only ever reaches its own.
package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/runtime"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/oidc"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/sts"
	"github.com/tenantml/tenantml/tenant"
)

// Path is the gateway's invocation route.
const Path = "/tenant/v1/invocations"

// MaxPayloadBytes bounds a request body, as InvokeEndpoint's.
const MaxPayloadBytes = 6 << 20

// Gateway serves the tenant gateway.
type Gateway struct {
	// IssuerURL names the account's OpenID Connect provider (registered
	// with CreateOpenIDConnectProvider, its claim mapping naming the
	// TenantID claim) whose tokens the gateway accepts; "" disables the
	// route.
	IssuerURL string
	AccountID string
	Region    string
	Identity  identity.Service
	Tenants   interface {
		FindTenant(ctx context.Context, id string) (*tenant.Tenant, error)
	}
	Data     serving.DataPlane
	Pipeline *api.Pipeline
	// Verifiers caches the provider's verifier (keys, discovery).
	Verifiers *oidc.Cache
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Meter measures the invocations; nil measures nothing.
	Meter *runtime.Meter
}

// sessionPrefix begins the names of the sessions the gateway takes: the
// rest is derived from the token's issuer and subject.
const sessionPrefix = "gateway-"

// Register adds the gateway route to srv.
func (g *Gateway) Register(srv *api.Server) {
	p := g.Pipeline.WithProtocol(&api.JSONProtocol{Dialect: api.Dialect{
		tenantml.EINVALID:      {Code: "ValidationError", Status: http.StatusBadRequest},
		tenantml.ENOTFOUND:     {Code: "ValidationError", Status: http.StatusBadRequest},
		tenantml.EFORBIDDEN:    {Code: "AccessDeniedException", Status: http.StatusForbidden},
		tenantml.EUNAUTHORIZED: {Code: "UnauthorizedException", Status: http.StatusUnauthorized},
	}})
	p.Authn = tokenAuthn{g}
	srv.HandleWithLimit("POST "+Path, MaxPayloadBytes, g.Meter.Wrap(p.Handler(api.Op{
		Action:  "sagemaker:InvokeEndpoint",
		Service: api.AnyService, // bearer tokens carry no SigV4 scope
		Target:  g.target,
		Handle:  g.invoke,
	})))
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func unauthorized(format string, args ...any) error {
	return tenantml.AWSErrorf(tenantml.EUNAUTHORIZED, "UnauthorizedException", format, args...)
}

// tokenAuthn turns the bearer token into a session of the tenant's invoke
// role.
type tokenAuthn struct{ g *Gateway }

func (a tokenAuthn) Authenticate(r *http.Request) (*authn.Principal, error) {
	g := a.g
	if g.IssuerURL == "" {
		return nil, unauthorized("the tenant gateway is not configured")
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return nil, unauthorized("send Authorization: Bearer <token>")
	}
	if len(token) > oidc.MaxTokenLen {
		return nil, unauthorized("the token is too long")
	}
	ctx := r.Context()
	prov, err := g.Identity.FindOpenIDConnectProvider(ctx, g.AccountID, g.IssuerURL)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil, unauthorized("the gateway's identity provider is not registered")
	}
	if err != nil {
		return nil, fmt.Errorf("find gateway provider: %w", err)
	}
	v, err := g.Verifiers.Verifier(prov.ARN, prov.CreatedAt, oidc.ProviderConfig{IssuerURL: prov.URL, ClientIDs: prov.ClientIDs, Thumbprints: prov.Thumbprints, ClaimTags: prov.ClaimTags})
	if err != nil {
		return nil, err
	}
	id, err := v.Verify(ctx, token)
	if err != nil {
		if tenantml.ErrorCode(err) == tenantml.EINTERNAL {
			return nil, err
		}
		return nil, unauthorized("the token was not accepted: %s", tenantml.ErrorMessage(err))
	}
	claimed := ""
	for k, val := range id.Tags {
		if strings.EqualFold(k, tenant.TagKey) {
			claimed = val
		}
	}
	if claimed == "" {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "the token names no tenant")
	}
	if tenant.ValidateID(claimed) != nil {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "the token's tenant is not valid")
	}
	t, err := g.Tenants.FindTenant(ctx, claimed)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "the token's tenant is not served here")
	}
	if err != nil {
		return nil, fmt.Errorf("find tenant: %w", err)
	}
	route := serving.RouteOf(t.ID, t.Isolation)
	role, err := g.Identity.GetRole(ctx, g.AccountID, route.RoleName)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "tenant %s is not onboarded for serving (no invoke role %s)", t.ID, route.RoleName)
	}
	if err != nil {
		return nil, fmt.Errorf("find invoke role: %w", err)
	}
	session, err := sts.SessionTenant(sts.Parties{RoleTenant: role.TenantID}, t.ID)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(id.Issuer + "\x00" + id.Subject))
	name := sessionPrefix + hex.EncodeToString(sum[:8])
	arn, err := sts.AssumedRoleARN(role.ARN, name)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, val := range role.Tags {
		tags[k] = val
	}
	tags[tenant.TagKey] = session
	return &authn.Principal{
		Type: authn.AssumedRole, Account: role.AccountID, ARN: arn, UserID: role.ID + ":" + name,
		TenantID: session, Tags: tags, PermissionsBoundaryARN: role.PermissionsBoundary,
		Session: &authn.Session{RoleARN: role.ARN, RoleID: role.ID, Name: name, IssuedAt: g.now(), Expiration: id.Expiry, FederatedProvider: id.Provider},
	}, nil
}

// target is the caller's tenant's endpoint and model: nothing in the
// request chooses them.
func (g *Gateway) target(r *http.Request, c *authn.Principal) (*api.Target, error) {
	t, err := g.Tenants.FindTenant(r.Context(), c.TenantID)
	if err != nil {
		return nil, err
	}
	route := serving.RouteOf(t.ID, t.Isolation)
	tg := &api.Target{Resource: authz.Resource{ARN: serving.ARN(g.Region, g.AccountID, serving.KindEndpoint, route.Endpoint)},
		Parameters: map[string]any{"endpoint": route.Endpoint, "isolation": string(t.Isolation)}}
	if route.TargetModel != "" {
		tg.Context = iam.Context{iam.Single("sagemaker:TargetModel", route.TargetModel)}
		tg.Parameters["targetModel"] = route.TargetModel
	}
	tg.NotFound = tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationError", "the model of tenant %s is not deployed", t.ID)
	ep, ok := g.Data.Endpoint(g.AccountID, route.Endpoint)
	if !ok {
		return tg, nil
	}
	tg.Tenant, tg.Tags = ep.Tenant, ep.Tags
	if ep.Multi {
		// The object at the tenant's key must be the tenant's own (the
		// tenant of the key that encrypts it), as InvokeEndpoint checks:
		// one that another tenant wrote there is not this tenant's model.
		owner, found, err := g.Data.ResolveModel(r.Context(), ep, route.TargetModel)
		if err != nil {
			return nil, err
		}
		if found && owner != c.TenantID {
			tg.Hide = tg.NotFound
		}
	}
	return tg, nil
}

// invoke sends the body to the tenant's endpoint and writes the answer.
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	t, err := g.Tenants.FindTenant(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	route := serving.RouteOf(t.ID, t.Isolation)
	ep, ok := g.Data.Endpoint(g.AccountID, route.Endpoint)
	if !ok {
		return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationError", "the model of tenant %s is not deployed", t.ID)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return api.DecodeError(err)
	}
	answered := runtime.Invoking(r.Context(), ep)
	out, err := g.Data.Invoke(r.Context(), ep, &serving.InvokeInput{
		TargetModel: route.TargetModel, ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), Body: body,
	})
	if err != nil {
		api.ReportUsage(r.Context(), api.Usage{BytesIn: int64(len(body))})
		return err
	}
	answered(out.ModelLatency)
	api.ReportUsage(r.Context(), api.Usage{BytesIn: int64(len(body)), BytesOut: int64(len(out.Body)), ModelTime: out.ModelLatency})
	if out.ContentType != "" {
		w.Header().Set("Content-Type", out.ContentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out.Body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(out.Body)
	return err
}
