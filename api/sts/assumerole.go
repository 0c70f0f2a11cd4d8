package sts

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/sts"
)

// AssumeRole serves sts:AssumeRole. The pipeline authorizes the call with
// the role's trust policy as the resource-based policy and the role's tags
// as aws:ResourceTag/* (sts:AssumeRole, and sts:TagSession when the request
// carries session tags) together with the caller's own policies, so a trust
// policy naming the caller's ARN allows on its own and one naming the
// account delegates to the caller's policies. The request context of that
// decision carries aws:RequestTag/*, aws:TagKeys, sts:ExternalId,
// sts:RoleSessionName, sts:TransitiveTagKeys and sts:SourceIdentity from
// the request. A role of another tenant than the caller's is decided as a
// role that does not exist (AccessDenied), and the session's tenant is
// decided by sts.Issuer.Issue (the tenant invariant), never by a tag.
type AssumeRole struct {
	AccountID string
	Identity  identity.Service
	// Policies parses session policies (and caches them with the
	// authorizer's).
	Policies PolicyParser
	Issuer   *sts.Issuer
	Pipeline *api.Pipeline
	Protocol *api.QueryProtocol
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// PolicyParser parses policy documents; *authz.Engine implements it.
type PolicyParser interface {
	Parse(doc string, kind iam.Kind) (*iam.Policy, error)
}

// Register adds AssumeRole to router.
func (a *AssumeRole) Register(router *api.AWSRouter) {
	router.Register("AssumeRole", a.Pipeline.WithProtocol(a.Protocol).Handler(api.Op{
		Action: "sts:AssumeRole",
		Target: a.target,
		Handle: a.assumeRole,
	}))
}

// target resolves the role: its ARN, tenant, tags and trust policy, with
// the request's condition keys. Validation errors come first, as AWS
// reports them before authorizing.
func (a *AssumeRole) target(r *http.Request, c *authn.Principal) (*api.Target, error) {
	f, err := api.ParseForm(r)
	if err != nil {
		return nil, err
	}
	req, err := parseAssumeRole(f)
	if err != nil {
		return nil, err
	}
	if c.Type == authn.Root {
		return nil, tenantml.AWSErrorf(tenantml.EFORBIDDEN, sts.CodeAccessDenied, "Roles may not be assumed by root accounts.")
	}
	t := &api.Target{Resource: authz.Resource{ARN: req.RoleARN}, Context: req.conditionKeys(), Parameters: req.parameters()}
	t.NotFound = tenantml.Errorf(tenantml.EFORBIDDEN, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.ARN, req.RoleARN)
	if len(req.Tags) > 0 {
		t.Also = []string{"sts:TagSession"}
	}
	return resolveRole(r.Context(), roleAccount(req.RoleARN, a.AccountID), a.Identity, a.Policies, t)
}

// roleAccount is the account a role ARN names, where its role is looked
// up: roles of every account of the deployment can be assumed (across
// accounts, the role's trust policy and the caller's identity policies
// must both allow). An ARN that names no account gives primary, where
// findRole then finds no such role.
func roleAccount(roleARN, primary string) string {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) == 6 && identity.ValidateAccount(parts[4]) == nil {
		return parts[4]
	}
	return primary
}

// resolveRole fills t's resource from the role its ARN names; a role that
// does not exist leaves the ARN alone (no trust policy: denied).
func resolveRole(ctx context.Context, acct string, ids identity.Service, parse PolicyParser, t *api.Target) (*api.Target, error) {
	role, err := findRole(ctx, acct, ids, t.ARN)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up role: %w", err)
	}
	trust, err := parse.Parse(role.AssumeRolePolicyDocument, iam.KindResource)
	if err != nil {
		return nil, fmt.Errorf("trust policy of %s: %w", role.ARN, err)
	}
	t.Resource = authz.Resource{ARN: role.ARN, Tenant: role.TenantID, Tags: role.Tags, Policy: trust}
	return t, nil
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
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeValidationError, "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeValidationError, "DurationSeconds must be a number of seconds")
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

// parameters are the request's audited parameters: what it asked for,
// the session tags included, so that an attempt to set a tenant shows in
// its own event.
func (req *assumeRoleRequest) parameters() map[string]any {
	p := map[string]any{"roleArn": req.RoleARN, "roleSessionName": req.SessionName}
	if len(req.Tags) > 0 {
		tags := make([]map[string]string, 0, len(req.Tags))
		for _, t := range req.Tags {
			tags = append(tags, map[string]string{"key": t.Key, "value": t.Value})
		}
		p["tags"] = tags
	}
	if len(req.TransitiveTagKeys) > 0 {
		p["transitiveTagKeys"] = req.TransitiveTagKeys
	}
	if req.DurationSeconds != 0 {
		p["durationSeconds"] = req.DurationSeconds
	}
	if req.SourceIdentity != "" {
		p["sourceIdentity"] = req.SourceIdentity
	}
	if len(req.PolicyARNs) > 0 {
		p["policyArns"] = req.PolicyARNs
	}
	return p
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

// findRole looks up the role a RoleArn names in account acct.
func findRole(ctx context.Context, acct string, ids identity.Service, roleARN string) (*identity.Role, error) {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != acct || !strings.HasPrefix(parts[5], "role/") {
		return nil, &tenantml.Error{Code: tenantml.ENOTFOUND, Message: "no such role"}
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	r, err := ids.GetRole(ctx, acct, name)
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

func (a *AssumeRole) assumeRole(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	f, err := api.ParseForm(r)
	if err != nil {
		return err
	}
	req, err := parseAssumeRole(f)
	if err != nil {
		return err
	}
	role, err := findRole(r.Context(), roleAccount(req.RoleARN, a.AccountID), a.Identity, req.RoleARN)
	if err != nil {
		return &tenantml.Error{Code: tenantml.EFORBIDDEN, Message: "not authorized to assume " + req.RoleARN, Err: err}
	}
	creds, packed, err := a.issue(r.Context(), c, role, req)
	if err != nil {
		return err
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
				return issued{}, 0, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeInvalidParameterValue, "The managed session policy %s does not exist.", arn)
			}
			return issued{}, 0, fmt.Errorf("look up session policy: %w", err)
		}
	}
	if req.Policy != "" {
		if _, err := a.Policies.Parse(req.Policy, iam.KindSession); err != nil {
			return issued{}, 0, tenantml.AWSErrorf(tenantml.EINVALID, sts.CodeMalformedPolicyDocument, "The session policy is not a valid IAM policy: %s", firstLine(err.Error()))
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
	}, sts.Parties{CallerTenant: c.TenantID, RoleTenant: role.TenantID})
	if tenantml.AWSCodeOf(err) != "" {
		return issued{}, 0, err // the tenant invariant refused it
	}
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
