package sts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/oidc"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/sts"
)

// WebIdentityUser is the principal type of an AssumeRoleWithWebIdentity
// caller: the verified token's subject at its provider, as CloudTrail
// reports it.
const WebIdentityUser authn.PrincipalType = "WebIdentityUser"

// WebIdentity serves sts:AssumeRoleWithWebIdentity. The request is unsigned,
// as on AWS: the pipeline authenticates it with the web identity token
// itself (the provider is found by the token's iss among the account's
// OpenID Connect providers and the token verified with authn/oidc, one
// cached verifier per provider), authorizes it with the role's trust policy
// alone for the principal {"Federated": <provider ARN>}, with the token's
// <provider>:aud, :sub and :amr condition keys and the session tags as
// aws:RequestTag/* (sts:TagSession must also be allowed when there are
// tags), and audits it like every call.
type WebIdentity struct {
	AccountID string
	Identity  identity.Service
	// Policies parses trust and session policies.
	Policies PolicyParser
	Issuer   *sts.Issuer
	Pipeline *api.Pipeline
	Protocol *api.QueryProtocol
	// HTTPClient fetches providers' discovery documents and keys; nil means
	// authn/oidc's default.
	HTTPClient *http.Client
	// Logger receives rejected-token diagnostics; nil means none.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	once      sync.Once
	verifiers oidc.Cache
}

// verified carries the verified token from authentication to the handler
// of one request.
type verified struct {
	provider *identity.OIDCProvider
	id       *oidc.Identity
}

type verifiedKey struct{}

// Register adds AssumeRoleWithWebIdentity to router.
func (w *WebIdentity) Register(router *api.AWSRouter) {
	p := w.Pipeline.WithProtocol(w.Protocol)
	p.Authn = webIdentityAuthn{w}
	p.Authz = trustOnly{}
	h := p.Handler(api.Op{
		Action: "sts:AssumeRoleWithWebIdentity",
		Target: w.target,
		Handle: w.assume,
	})
	router.Register("AssumeRoleWithWebIdentity", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), verifiedKey{}, &verified{})))
	}))
}

// target resolves the role with the token's condition keys.
func (w *WebIdentity) target(r *http.Request, c *authn.Principal) (*api.Target, error) {
	hold, ok := r.Context().Value(verifiedKey{}).(*verified)
	if !ok || hold.id == nil {
		return nil, errors.New("web identity target: no verified token")
	}
	f, err := api.ParseForm(r)
	if err != nil {
		return nil, err
	}
	roleARN := f.Get("RoleArn")
	if roleARN == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeValidationError, "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	t := &api.Target{Resource: authz.Resource{ARN: roleARN}, Context: conditionKeys(hold.id, w.now()),
		Parameters: map[string]any{"roleArn": roleARN, "roleSessionName": f.Get("RoleSessionName"), "provider": hold.provider.ARN}}
	t.NotFound = tenantml.Errorf(tenantml.EFORBIDDEN, "User: %s is not authorized to perform: sts:AssumeRoleWithWebIdentity on resource: %s", c.ARN, roleARN)
	if len(hold.id.Tags) > 0 {
		t.Also = []string{"sts:TagSession"}
		t.Parameters["tags"] = hold.id.Tags
	}
	return resolveRole(r.Context(), roleAccount(roleARN, w.AccountID), w.Identity, w.Policies, t)
}

// trustOnly decides a web identity's call with the role's trust policy
// alone: a federated principal has no identity policies of its own. A
// role that does not exist has no trust policy and denies.
type trustOnly struct{}

func (trustOnly) Authorize(_ context.Context, req *authz.Request) (authz.Decision, error) {
	if req.Caller == nil {
		return authz.Decision{}, errors.New("authorize web identity: no caller")
	}
	if req.Resource.Policy == nil {
		return authz.Deny("no such role"), nil
	}
	ireq := &iam.Request{Principal: req.Caller.ARN, PrincipalAccount: req.Caller.Account, Action: req.Action, Resource: req.Resource.ARN, Context: req.Context}
	for k, v := range req.Resource.Tags {
		ireq.Context = append(ireq.Context, iam.Single("aws:ResourceTag/"+k, v))
	}
	dec, diag := iam.Authorize(&iam.PolicySet{Resource: req.Resource.Policy}, ireq)
	return authz.Decision{Effect: dec, Reason: diag.Reason()}, nil
}

func (w *WebIdentity) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// tokenIssuer reads the iss claim of an unverified JWT, only to choose the
// provider whose keys then verify it.
func tokenIssuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", authn.Errorf(authn.CodeInvalidIdentityToken, "The web identity token is not a JWT.")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", authn.Errorf(authn.CodeInvalidIdentityToken, "The web identity token's payload is not base64url.")
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Iss == "" {
		return "", authn.Errorf(authn.CodeInvalidIdentityToken, "The web identity token has no iss claim.")
	}
	return claims.Iss, nil
}

// verifier returns the cached verifier of p, replacing it when p was
// recreated.
func (w *WebIdentity) verifier(p *identity.OIDCProvider) (*oidc.Verifier, error) {
	w.once.Do(func() { w.verifiers.Options = oidc.Options{HTTPClient: w.HTTPClient, Now: w.now, Logger: w.Logger} })
	return w.verifiers.Verifier(p.ARN, p.CreatedAt, oidc.ProviderConfig{IssuerURL: p.URL, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints, ClaimTags: p.ClaimTags})
}

// webIdentityAuthn authenticates with the web identity token.
type webIdentityAuthn struct{ w *WebIdentity }

func (a webIdentityAuthn) Authenticate(r *http.Request) (*authn.Principal, error) {
	hold, ok := r.Context().Value(verifiedKey{}).(*verified)
	if !ok {
		return nil, errors.New("authenticate web identity: not registered through WebIdentity.Register")
	}
	f, err := api.ParseForm(r)
	if err != nil {
		return nil, err
	}
	token := f.Get("WebIdentityToken")
	if token == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeValidationError, "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null")
	}
	if len(token) > oidc.MaxTokenLen {
		return nil, authn.Errorf(authn.CodeInvalidIdentityToken, "The web identity token must be at most %d characters.", oidc.MaxTokenLen)
	}
	iss, err := tokenIssuer(token)
	if err != nil {
		return nil, err
	}
	acct := roleAccount(f.Get("RoleArn"), a.w.AccountID)
	p, err := a.w.Identity.FindOpenIDConnectProvider(r.Context(), acct, iss)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || tenantml.ErrorCode(err) == tenantml.EINVALID {
		return nil, authn.Errorf(authn.CodeInvalidIdentityToken, "No OpenIDConnect provider found in your account for %s", iss)
	}
	if err != nil {
		return nil, fmt.Errorf("find oidc provider: %w", err)
	}
	v, err := a.w.verifier(p)
	if err != nil {
		return nil, err
	}
	id, err := v.Verify(r.Context(), token)
	if authn.ErrorCode(err) == authn.CodeExpiredToken {
		// AssumeRoleWithWebIdentity reports an expired token as
		// ExpiredTokenException, unlike signed requests' ExpiredToken.
		e := authn.Wrap("ExpiredTokenException", "Token expired: the web identity token has expired.", err)
		e.Status = http.StatusBadRequest
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	hold.provider, hold.id = p, id
	return &authn.Principal{Type: WebIdentityUser, Account: acct, ARN: p.ARN,
		UserID: id.Provider + ":" + id.Audience + ":" + id.Subject}, nil
}

// conditionKeys are the trust policy's request context for id.
func conditionKeys(id *oidc.Identity, now time.Time) iam.Context {
	ctx := iam.Context{
		iam.Single("aws:FederatedProvider", id.Provider),
		iam.Single("aws:CurrentTime", now.UTC().Format(time.RFC3339)),
		iam.Single("aws:EpochTime", strconv.FormatInt(now.Unix(), 10)),
	}
	for _, k := range slices.Sorted(mapsKeys(id.Conditions)) {
		ctx = append(ctx, iam.Multi(k, id.Conditions[k]...))
	}
	if len(id.Tags) > 0 {
		keys := slices.Sorted(mapsKeys(id.Tags))
		for _, k := range keys {
			ctx = append(ctx, iam.Single("aws:RequestTag/"+k, id.Tags[k]))
		}
		ctx = append(ctx, iam.Multi("aws:TagKeys", keys...))
	}
	if len(id.TransitiveTagKeys) > 0 {
		ctx = append(ctx, iam.Multi("sts:TransitiveTagKeys", id.TransitiveTagKeys...))
	}
	return ctx
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// AssumeRoleWithWebIdentityResult is the result of
// AssumeRoleWithWebIdentity.
type AssumeRoleWithWebIdentityResult struct {
	Credentials                 xmlCredentials     `xml:"Credentials"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize            int                `xml:"PackedPolicySize,omitempty"`
	Provider                    string             `xml:"Provider"`
	Audience                    string             `xml:"Audience"`
}

func (w *WebIdentity) assume(rw http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	hold, ok := r.Context().Value(verifiedKey{}).(*verified)
	if !ok || hold.id == nil {
		return errors.New("assume role with web identity: no verified token")
	}
	f, err := api.ParseForm(r)
	if err != nil {
		return err
	}
	roleARN, name := f.Get("RoleArn"), f.Get("RoleSessionName")
	role, err := findRole(r.Context(), roleAccount(roleARN, w.AccountID), w.Identity, roleARN)
	if err != nil {
		return &tenantml.Error{Code: tenantml.EFORBIDDEN, Message: "not authorized to assume " + roleARN, Err: err}
	}
	creds, packed, err := w.issue(role, hold.id, f, name)
	if err != nil {
		return err
	}
	w.Protocol.WriteResult(rw, r, "AssumeRoleWithWebIdentity", AssumeRoleWithWebIdentityResult{
		Credentials: xmlCredentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
			Expiration: creds.Expiration.UTC().Format(authn.TimeFormat)},
		SubjectFromWebIdentityToken: hold.id.Subject,
		AssumedRoleUser:             xmlAssumedRoleUser{AssumedRoleID: role.ID + ":" + name, Arn: mustAssumedARN(role.ARN, name)},
		PackedPolicySize:            packed,
		Provider:                    hold.provider.ARN,
		Audience:                    hold.id.Audience,
	})
	return nil
}

// issue applies package sts's rules to a web identity session and mints
// its credentials.
func (w *WebIdentity) issue(role *identity.Role, id *oidc.Identity, f url.Values, name string) (sts.Credentials, int, error) {
	if err := sts.ValidateRoleSessionName(name); err != nil {
		return sts.Credentials{}, 0, err
	}
	var requested int64
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return sts.Credentials{}, 0, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeValidationError, "DurationSeconds must be a number of seconds")
		}
		requested = n
	}
	d, err := sts.SessionDuration(requested, time.Duration(role.MaxSessionDuration)*time.Second, false)
	if err != nil {
		return sts.Credentials{}, 0, err
	}
	reqTags := sts.TagList(id.Tags)
	tags, transitive, err := sts.SessionTags(sts.TagInput{RoleTags: role.Tags, Request: reqTags, TransitiveTagKeys: id.TransitiveTagKeys})
	if err != nil {
		return sts.Credentials{}, 0, err
	}
	policy := f.Get("Policy")
	packed, err := sts.PackedPolicySize(policy, nil, reqTags)
	if err != nil {
		return sts.Credentials{}, 0, err
	}
	if policy != "" {
		if _, err := w.Policies.Parse(policy, iam.KindSession); err != nil {
			return sts.Credentials{}, 0, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeMalformedPolicyDocument, "The session policy is not a valid IAM policy: %s", firstLine(err.Error()))
		}
	} else if len(reqTags) == 0 {
		packed = 0
	}
	t := w.now()
	creds, err := w.Issuer.Issue(sts.Session{
		Account: role.AccountID, RoleARN: role.ARN, RoleID: role.ID, RoleSessionName: name,
		Tags: tags, TransitiveTagKeys: transitive, Policy: policy, IssuedAt: t, Expiration: t.Add(d),
		PermissionsBoundaryARN: role.PermissionsBoundary, FederatedProvider: id.Provider,
	}, sts.Parties{RoleTenant: role.TenantID})
	if tenantml.AWSCodeOf(err) != "" {
		return sts.Credentials{}, 0, err // the tenant invariant refused it
	}
	if err != nil {
		return sts.Credentials{}, 0, fmt.Errorf("issue session: %w", err)
	}
	return creds, packed, nil
}
