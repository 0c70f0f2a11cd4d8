package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/identity"
)

// fakeIdentity serves PoliciesForUser/PoliciesForRole from maps; every
// other method panics through the nil embedded interface (not called).
type fakeIdentity struct {
	identity.Service
	users, roles map[string]*identity.Effective
	policies     map[string]string // managed policy ARN → default (v1) document
	err          error
}

func (f *fakeIdentity) GetPolicy(_ context.Context, _, arn string) (*identity.Policy, error) {
	if _, ok := f.policies[arn]; !ok {
		return nil, identity.Errorf(identity.NoSuchEntity, "no such policy %s", arn)
	}
	return &identity.Policy{ARN: arn, DefaultVersionID: "v1"}, nil
}

func (f *fakeIdentity) GetPolicyVersion(_ context.Context, _, arn, v string) (*identity.PolicyVersion, error) {
	return &identity.PolicyVersion{PolicyARN: arn, VersionID: v, Document: f.policies[arn], IsDefault: true}, nil
}

func (f *fakeIdentity) PoliciesForUser(_ context.Context, _, name string) (*identity.Effective, error) {
	return f.lookup(f.users, name)
}

func (f *fakeIdentity) PoliciesForRole(_ context.Context, _, name string) (*identity.Effective, error) {
	return f.lookup(f.roles, name)
}

func (f *fakeIdentity) lookup(m map[string]*identity.Effective, name string) (*identity.Effective, error) {
	if f.err != nil {
		return nil, f.err
	}
	e, ok := m[name]
	if !ok {
		return nil, identity.Errorf(identity.NoSuchEntity, "no such principal %s", name)
	}
	return e, nil
}

const (
	acct        = "111122223333"
	allowInvoke = `{"Version":"2012-10-17","Statement":[{"Sid":"Invoke","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`
	denyInvoke  = `{"Version":"2012-10-17","Statement":[{"Sid":"No","Effect":"Deny","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`
	allowList   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"}]}`
	fromLocal   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"},"Bool":{"aws:SecureTransport":"false"}}}]}`
	inUSEast1   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`
	ownTenant   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:*:*:endpoint/${aws:PrincipalTag/TenantID}"}]}`
)

func TestIAMAuthorizer_Authorize(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	revoked := now.Add(-time.Minute)
	fake := &fakeIdentity{
		users: map[string]*identity.Effective{
			"alice":   {Policies: []identity.Document{{Source: "user", Name: "invoke", Document: allowInvoke}}},
			"bob":     {Policies: []identity.Document{{Source: "user", Name: "invoke", Document: allowInvoke}, {Source: "managed", Name: "deny", ARN: "arn:aws:iam::" + acct + ":policy/deny", VersionID: "v1", Document: denyInvoke}}},
			"carol":   {Policies: []identity.Document{{Source: "user", Name: "invoke", Document: allowInvoke}}, Boundary: &identity.Document{ARN: "arn:aws:iam::" + acct + ":policy/b", VersionID: "v1", Document: allowList}},
			"dave":    {Policies: []identity.Document{{Source: "user", Name: "local", Document: fromLocal}}},
			"erin":    {Policies: []identity.Document{{Source: "user", Name: "region", Document: inUSEast1}}},
			"badpoli": {Policies: []identity.Document{{Source: "user", Name: "broken", Document: `{"Statement":`}}},
		},
		policies: map[string]string{"arn:aws:iam::" + acct + ":policy/list-only": allowList, "arn:aws:iam::" + acct + ":policy/invoke": allowInvoke},
		roles: map[string]*identity.Effective{
			"pool":    {Policies: []identity.Document{{Source: "role", Name: "own", Document: ownTenant}}},
			"revoked": {Policies: []identity.Document{{Source: "role", Name: "invoke", Document: allowInvoke}}, SessionsRevokedBefore: &revoked},
		},
	}
	user := func(name string) *authn.Principal {
		return &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/" + name, UserName: name, UserID: "AIDA" + name}
	}
	session := func(role string, tags map[string]string, policy string, policyARNs ...string) *authn.Principal {
		return &authn.Principal{Type: authn.AssumedRole, Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/" + role + "/s", Tags: tags,
			Session: &authn.Session{RoleARN: "arn:aws:iam::" + acct + ":role/" + role, Name: "s", IssuedAt: now.Add(-2 * time.Minute), Policy: policy, PolicyARNs: policyARNs}}
	}
	endpoint := func(name string) string { return "arn:aws:sagemaker:us-east-1:" + acct + ":endpoint/" + name }
	tests := []struct {
		name       string
		caller     *authn.Principal
		resource   string
		viaRequest bool
		region     string
		want       string
		wantPolicy string
	}{
		{"RootOfOperatorAccount", &authn.Principal{Type: authn.Root, Account: acct, ARN: "arn:aws:iam::" + acct + ":root"}, endpoint("x"), false, "", "Allowed", ""},
		{"RootOfOtherAccount", &authn.Principal{Type: authn.Root, Account: "999999999999", ARN: "arn:aws:iam::999999999999:root"}, endpoint("x"), false, "", "ImplicitlyDenied", ""},
		{"UserAllowedByInline", user("alice"), endpoint("x"), false, "", "Allowed", "user inline invoke"},
		{"UserExplicitDeny", user("bob"), endpoint("x"), false, "", "ExplicitlyDenied", "arn:aws:iam::" + acct + ":policy/deny v1"},
		{"UserBoundaryLacksAllow", user("carol"), endpoint("x"), false, "", "ImplicitlyDenied", ""},
		{"UserUnknown", user("zed"), endpoint("x"), false, "", "ImplicitlyDenied", ""},
		{"SourceIpFromRequest", user("dave"), endpoint("x"), true, "", "Allowed", "user inline local"},
		{"RequestedRegionFromScope", user("erin"), endpoint("x"), true, "us-east-1", "Allowed", "user inline region"},
		{"ErrRequestedRegionOther", user("erin"), endpoint("x"), true, "eu-west-1", "ImplicitlyDenied", ""},
		{"SourceIpWithoutRequest", user("dave"), endpoint("x"), false, "", "ImplicitlyDenied", ""},
		{"SessionOwnTenant", session("pool", map[string]string{"TenantID": "acme"}, ""), endpoint("acme"), false, "", "Allowed", "role inline own"},
		{"SessionOtherTenant", session("pool", map[string]string{"TenantID": "acme"}, ""), endpoint("globex"), false, "", "ImplicitlyDenied", ""},
		{"SessionPolicyCaps", session("pool", map[string]string{"TenantID": "acme"}, allowList), endpoint("acme"), false, "", "ImplicitlyDenied", ""},
		{"SessionPolicyAllows", session("pool", map[string]string{"TenantID": "acme"}, allowInvoke), endpoint("acme"), false, "", "Allowed", "role inline own"},
		{"ManagedSessionPolicyAllows", session("pool", map[string]string{"TenantID": "acme"}, "", "arn:aws:iam::"+acct+":policy/invoke"), endpoint("acme"), false, "", "Allowed", "role inline own"},
		{"ManagedSessionPolicyCaps", session("pool", map[string]string{"TenantID": "acme"}, "", "arn:aws:iam::"+acct+":policy/list-only"), endpoint("acme"), false, "", "ImplicitlyDenied", ""},
		{"ManagedSessionPolicyDeleted", session("pool", map[string]string{"TenantID": "acme"}, "", "arn:aws:iam::"+acct+":policy/gone"), endpoint("acme"), false, "", "ExplicitlyDenied", "arn:aws:iam::" + acct + ":policy/gone"},
		{"SessionRevoked", session("revoked", nil, ""), endpoint("x"), false, "", "ImplicitlyDenied", ""},
	}
	a := &IAMAuthorizer{AccountID: acct, Identity: fake, Now: func() time.Time { return now }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.viaRequest {
				r := httptest.NewRequest("POST", "/", nil)
				r.RemoteAddr = "127.0.0.1:5555"
				if tt.region != "" {
					r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261123/"+tt.region+"/sagemaker/aws4_request, SignedHeaders=host, Signature=00")
				}
				ctx = withRequest(ctx, r)
			}
			d, err := a.Authorize(ctx, tt.caller, "sagemaker:InvokeEndpoint", tt.resource)
			if err != nil {
				t.Fatal(err)
			}
			if d.Effect != tt.want {
				t.Fatalf("effect = %s (%s), want %s", d.Effect, d.Reason, tt.want)
			}
			if d.Reason == "" {
				t.Error("no reason")
			}
			if tt.wantPolicy != "" && (d.Statement == nil || d.Statement.Policy != tt.wantPolicy) {
				t.Errorf("statement = %+v, want policy %q", d.Statement, tt.wantPolicy)
			}
		})
	}

	t.Run("ErrNoCaller", func(t *testing.T) {
		if _, err := a.Authorize(context.Background(), nil, "iam:GetUser", ""); err == nil {
			t.Fatal("no error for a nil caller")
		}
	})
	t.Run("ErrStoredPolicyUnparsable", func(t *testing.T) {
		if d, err := a.Authorize(context.Background(), user("badpoli"), "iam:GetUser", ""); err == nil || d.Allowed() {
			t.Fatalf("decision %+v, err %v: want an error (fail closed)", d, err)
		}
	})
	t.Run("ErrStoreFails", func(t *testing.T) {
		broken := &IAMAuthorizer{AccountID: acct, Identity: &fakeIdentity{err: errors.New("disk on fire")}}
		d, err := broken.Authorize(context.Background(), user("alice"), "sagemaker:InvokeEndpoint", endpoint("x"))
		if err == nil || d.Allowed() || !strings.Contains(err.Error(), "load policies") {
			t.Fatalf("decision %+v, err %v: want a load error", d, err)
		}
	})
}

func TestIAMAuthorizer_Parse(t *testing.T) {
	a := &IAMAuthorizer{MaxCached: 2}
	docs := []string{allowInvoke, denyInvoke, allowList}
	for _, d := range docs {
		if _, err := a.Parse(d, 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("CachedIsSame", func(t *testing.T) {
		p1, _ := a.Parse(allowList, 0)
		p2, _ := a.Parse(allowList, 0)
		if p1 != p2 {
			t.Fatal("the same document parsed twice")
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		if n := len(a.cache); n > 2 {
			t.Fatalf("cache holds %d entries, limit 2", n)
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		if _, err := a.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`, 0); err == nil {
			t.Fatal("no error")
		}
	})
}
