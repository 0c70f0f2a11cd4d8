package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/sts"
)

// AssumeRole serves sts:AssumeRole. The pipeline authorizes the call with
// the role's trust policy as the resource-based policy (sts:AssumeRole, and
// sts:TagSession when the request carries session tags) together with the
// caller's own policies, so a trust policy naming the caller's ARN allows on
// its own and one naming the account delegates to the caller's policies.
// The request context of that decision carries aws:RequestTag/*,
// aws:TagKeys, sts:ExternalId, sts:RoleSessionName, sts:TransitiveTagKeys
// and sts:SourceIdentity from the request.
type AssumeRole struct {
	AccountID  string
	Identity   identity.Service
	Authorizer *api.IAMAuthorizer
	Issuer     *sts.Issuer
	Pipeline   *api.Pipeline
	Protocol   *api.QueryProtocol
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Register adds AssumeRole to router.
func (a *AssumeRole) Register(router *api.QueryRouter) {
	p := a.Pipeline.WithErrors(a.Protocol.WriteError)
	p.Authz = trustAuthorizer{a}
	router.Register("AssumeRole", p.Handler(api.Op{
		Action: "sts:AssumeRole",
		Resource: func(r *http.Request) string {
			f, err := api.ParseForm(r)
			if err != nil {
				return ""
			}
			return f.Get("RoleArn")
		},
		Handle: a.assumeRole,
	}))
}

// assumeRoleRequest is the parsed request.
type assumeRoleRequest struct {
	RoleARN, SessionName, ExternalID, SourceIdentity, Policy string
	DurationSeconds                                          int64
	Tags                                                     []sts.Tag
	TransitiveTagKeys, PolicyARNs                            []string
}

func parseAssumeRole(f url.Values) (*assumeRoleRequest, error) {
	req := &assumeRoleRequest{RoleARN: f.Get("RoleArn"), SessionName: f.Get("RoleSessionName"), ExternalID: f.Get("ExternalId"),
		SourceIdentity: f.Get("SourceIdentity"), Policy: f.Get("Policy")}
	if req.RoleARN == "" {
		return nil, api.AWSErrorf(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return nil, api.AWSErrorf(http.StatusBadRequest, "ValidationError", "DurationSeconds must be a number of seconds")
		}
		req.DurationSeconds = n
	}
	for i := 1; ; i++ {
		n := strconv.Itoa(i)
		k, ok := f["Tags.member."+n+".Key"]
		if !ok {
			break
		}
		req.Tags = append(req.Tags, sts.Tag{Key: k[0], Value: f.Get("Tags.member." + n + ".Value")})
	}
	for i := 1; ; i++ {
		n := strconv.Itoa(i)
		if v, ok := f["TransitiveTagKeys.member."+n]; ok {
			req.TransitiveTagKeys = append(req.TransitiveTagKeys, v[0])
			continue
		}
		break
	}
	for i := 1; ; i++ {
		n := strconv.Itoa(i)
		if v, ok := f["PolicyArns.member."+n+".arn"]; ok {
			req.PolicyARNs = append(req.PolicyARNs, v[0])
			continue
		}
		break
	}
	return req, nil
}

// conditionKeys are the request's condition keys for the trust policy.
func (req *assumeRoleRequest) conditionKeys() iam.Context {
	var ctx iam.Context
	keys := make([]string, 0, len(req.Tags))
	for _, t := range req.Tags {
		ctx = append(ctx, iam.Single("aws:RequestTag/"+t.Key, t.Value))
		keys = append(keys, t.Key)
	}
	if len(req.Tags) > 0 {
		ctx = append(ctx, iam.Multi("aws:TagKeys", keys...))
	}
	if len(req.TransitiveTagKeys) > 0 {
		ctx = append(ctx, iam.Multi("sts:TransitiveTagKeys", req.TransitiveTagKeys...))
	}
	if req.ExternalID != "" {
		ctx = append(ctx, iam.Single("sts:ExternalId", req.ExternalID))
	}
	if req.SessionName != "" {
		ctx = append(ctx, iam.Single("sts:RoleSessionName", req.SessionName))
	}
	if req.SourceIdentity != "" {
		ctx = append(ctx, iam.Single("sts:SourceIdentity", req.SourceIdentity))
	}
	return ctx
}

// trustAuthorizer decides AssumeRole with the role's trust policy.
type trustAuthorizer struct{ a *AssumeRole }

func (t trustAuthorizer) Authorize(ctx context.Context, c *authn.Principal, action, resource string) (api.Decision, error) {
	denied := func(reason string) (api.Decision, error) {
		return api.Decision{Effect: "ImplicitlyDenied", Reason: reason}, nil
	}
	if c == nil {
		return api.Decision{}, errors.New("authorize assume role: no caller")
	}
	if c.Type == authn.Root {
		return denied("roles may not be assumed by root accounts")
	}
	r, ok := api.RequestFrom(ctx)
	if !ok {
		return api.Decision{}, errors.New("authorize assume role: no request")
	}
	f, err := api.ParseForm(r)
	if err != nil {
		return api.Decision{}, fmt.Errorf("authorize assume role: %w", err)
	}
	req, err := parseAssumeRole(f)
	if err != nil {
		return api.Decision{}, err // ValidationError, as AWS reports it before authorizing
	}
	role, err := t.a.role(ctx, resource)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return denied("no such role") // as AWS: AccessDenied, not NoSuchEntity
	}
	if err != nil {
		return api.Decision{}, fmt.Errorf("authorize assume role: %w", err)
	}
	trust, err := t.a.Authorizer.Parse(role.AssumeRolePolicyDocument, iam.KindResource)
	if err != nil {
		return api.Decision{}, fmt.Errorf("authorize assume role: trust policy: %w", err)
	}
	extra := req.conditionKeys()
	d, err := t.a.Authorizer.Decide(ctx, c, action, role.ARN, trust, extra)
	if err != nil || !d.Allowed() || len(req.Tags) == 0 {
		return d, err
	}
	d, err = t.a.Authorizer.Decide(ctx, c, "sts:TagSession", role.ARN, trust, extra)
	if err == nil && !d.Allowed() {
		d.Reason = "sts:TagSession: " + d.Reason
	}
	return d, err
}

// role looks up the role a RoleArn names in this account.
func (a *AssumeRole) role(ctx context.Context, roleARN string) (*identity.Role, error) {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != a.AccountID || !strings.HasPrefix(parts[5], "role/") {
		return nil, &tenantml.Error{Code: tenantml.ENOTFOUND, Message: "no such role"}
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	r, err := a.Identity.GetRole(ctx, a.AccountID, name)
	if err != nil {
		return nil, err
	}
	if r.ARN != roleARN {
		return nil, &tenantml.Error{Code: tenantml.ENOTFOUND, Message: "no such role"} // a different path
	}
	return r, nil
}

// AssumeRoleResult is the result of AssumeRole.
type AssumeRoleResult struct {
	Credentials      xmlCredentials     `xml:"Credentials"`
	AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize int                `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string             `xml:"SourceIdentity,omitempty"`
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type xmlAssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

// stsError gives package sts's rule errors their AWS code and status.
func stsError(err error) error {
	var se *sts.Error
	if errors.As(err, &se) {
		return &api.AWSError{Code: se.Code, Message: se.Message, Status: se.HTTPStatus(), Err: err}
	}
	return err
}

func (a *AssumeRole) assumeRole(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	f, err := api.ParseForm(r)
	if err != nil {
		return err
	}
	req, err := parseAssumeRole(f)
	if err != nil {
		return err
	}
	role, err := a.role(r.Context(), req.RoleARN)
	if err != nil {
		return &tenantml.Error{Code: tenantml.EFORBIDDEN, Message: "not authorized to assume " + req.RoleARN, Err: err}
	}
	creds, packed, err := a.issue(r.Context(), c, role, req)
	if err != nil {
		return stsError(err)
	}
	a.Protocol.WriteResult(w, r, "AssumeRole", AssumeRoleResult{
		Credentials: xmlCredentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
			Expiration: creds.Expiration.UTC().Format(authn.TimeFormat)},
		AssumedRoleUser:  xmlAssumedRoleUser{AssumedRoleID: role.ID + ":" + req.SessionName, Arn: mustAssumedARN(role.ARN, req.SessionName)},
		PackedPolicySize: packed,
		SourceIdentity:   creds.sourceIdentity,
	})
	return nil
}

type issued struct {
	sts.Credentials
	sourceIdentity string
}

// issue applies package sts's rules and mints the session credentials.
func (a *AssumeRole) issue(ctx context.Context, c *authn.Principal, role *identity.Role, req *assumeRoleRequest) (issued, int, error) {
	chain := sts.ChainFrom(c)
	if err := sts.ValidateRoleSessionName(req.SessionName); err != nil {
		return issued{}, 0, err
	}
	if err := sts.ValidateExternalID(req.ExternalID); err != nil {
		return issued{}, 0, err
	}
	d, err := sts.SessionDuration(req.DurationSeconds, time.Duration(role.MaxSessionDuration)*time.Second, chain.Chained)
	if err != nil {
		return issued{}, 0, err
	}
	source, err := sts.SourceIdentity(req.SourceIdentity, chain.SourceIdentity)
	if err != nil {
		return issued{}, 0, err
	}
	tags, transitive, err := sts.SessionTags(sts.TagInput{RoleTags: role.Tags, Inherited: chain.TransitiveTags, Request: req.Tags, TransitiveTagKeys: req.TransitiveTagKeys})
	if err != nil {
		return issued{}, 0, err
	}
	packed, err := sts.PackedPolicySize(req.Policy, req.PolicyARNs, req.Tags)
	if err != nil {
		return issued{}, 0, err
	}
	for _, arn := range req.PolicyARNs {
		if _, err := a.Identity.GetPolicy(ctx, role.AccountID, arn); err != nil {
			if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || tenantml.ErrorCode(err) == tenantml.EINVALID {
				return issued{}, 0, &sts.Error{Code: sts.CodeInvalidParameterValue, Message: "The managed session policy " + arn + " does not exist."}
			}
			return issued{}, 0, fmt.Errorf("look up session policy: %w", err)
		}
	}
	if req.Policy != "" {
		if _, err := a.Authorizer.Parse(req.Policy, iam.KindSession); err != nil {
			return issued{}, 0, &sts.Error{Code: sts.CodeMalformedPolicyDocument, Message: "The session policy is not a valid IAM policy: " + firstLine(err.Error())}
		}
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	t := now()
	creds, err := a.Issuer.Issue(sts.Session{
		Account: role.AccountID, RoleARN: role.ARN, RoleID: role.ID, RoleSessionName: req.SessionName,
		Tags: tags, TransitiveTagKeys: transitive, Policy: req.Policy, PolicyARNs: req.PolicyARNs,
		SourceIdentity: source, Chained: chain.Chained, IssuedAt: t, Expiration: t.Add(d),
		PermissionsBoundaryARN: role.PermissionsBoundary,
	})
	if err != nil {
		return issued{}, 0, fmt.Errorf("issue session: %w", err)
	}
	if req.Policy == "" && len(req.PolicyARNs) == 0 && len(req.Tags) == 0 {
		packed = 0
	}
	return issued{Credentials: creds, sourceIdentity: source}, packed, nil
}

func mustAssumedARN(roleARN, session string) string {
	s, err := sts.AssumedRoleARN(roleARN, session)
	if err != nil {
		return ""
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
