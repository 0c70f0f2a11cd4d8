package authz

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
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

func TestEngine_Authorize(t *testing.T) {
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
		return &authn.Principal{Type: authn.AssumedRole, Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/" + role + "/s", Tags: tags, TenantID: tags["TenantID"],
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
		{"RootOfOtherAccountOnOurs", &authn.Principal{Type: authn.Root, Account: "999999999999", ARN: "arn:aws:iam::999999999999:root"}, endpoint("x"), false, "", "ImplicitlyDenied", ""},
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
		// The tenant is the principal's TenantID, never a tag it carries.
		{"TagIsNotTheTenant", &authn.Principal{Type: authn.AssumedRole, Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/pool/s", Tags: map[string]string{"TenantID": "globex"}, TenantID: "acme",
			Session: &authn.Session{RoleARN: "arn:aws:iam::" + acct + ":role/pool", Name: "s", IssuedAt: now}}, endpoint("globex"), false, "", "ImplicitlyDenied", ""},
		{"TagWithoutTenantIsIgnored", session("pool", nil, ""), endpoint("globex"), false, "", "ImplicitlyDenied", ""},
	}
	tests[len(tests)-1].caller.Tags = map[string]string{"tenantid": "globex"}
	a := &Engine{AccountID: acct, Identity: fake, Now: func() time.Time { return now }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &Request{Caller: tt.caller, Action: "sagemaker:InvokeEndpoint", Resource: Resource{ARN: tt.resource}}
			if tt.viaRequest {
				req.Origin = Origin{SourceIP: "127.0.0.1", Region: tt.region}
			}
			d, err := a.Authorize(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Effect.String() != tt.want {
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
		if _, err := a.Authorize(context.Background(), &Request{Action: "iam:GetUser"}); err == nil {
			t.Fatal("no error for a nil caller")
		}
	})
	t.Run("ErrStoredPolicyUnparsable", func(t *testing.T) {
		if d, err := a.Authorize(context.Background(), &Request{Caller: user("badpoli"), Action: "iam:GetUser"}); err == nil || d.Allowed() {
			t.Fatalf("decision %+v, err %v: want an error (fail closed)", d, err)
		}
	})
	t.Run("ErrStoreFails", func(t *testing.T) {
		broken := &Engine{AccountID: acct, Identity: &fakeIdentity{err: errors.New("disk on fire")}}
		d, err := broken.Authorize(context.Background(), &Request{Caller: user("alice"), Action: "sagemaker:InvokeEndpoint", Resource: Resource{ARN: endpoint("x")}})
		if err == nil || d.Allowed() || !strings.Contains(err.Error(), "load policies") {
			t.Fatalf("decision %+v, err %v: want a load error", d, err)
		}
	})
}

func TestEngine_Parse(t *testing.T) {
	a := &Engine{MaxCached: 2}
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
		if n := len(a.parsed); n > 2 {
			t.Fatalf("cache holds %d entries, limit 2", n)
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		if _, err := a.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`, 0); err == nil {
			t.Fatal("no error")
		}
	})
}

// TestEngine_TenantBoundary checks the invariant every authorizer applies
// before any policy: a principal of a tenant is denied another tenant's
// resource even by a policy that allows everything, and is decided on its
// own tenant's and shared resources by its policies.
func TestEngine_TenantBoundary(t *testing.T) {
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	fake := &fakeIdentity{users: map[string]*identity.Effective{"admin": {Policies: []identity.Document{{Source: "user", Name: "all", Document: allowAll}}}}}
	a := &Engine{AccountID: acct, Identity: fake}
	tests := []struct {
		name, callerTenant, resourceTenant string
		want                               bool
	}{
		{"OwnTenant", "acme", "acme", true},
		{"SharedResource", "acme", "", true},
		{"OtherTenant", "acme", "globex", false},
		{"PlatformCaller", "", "globex", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/admin", UserName: "admin", TenantID: tt.callerTenant}
			d, err := a.Authorize(context.Background(), &Request{Caller: c, Action: "iam:DeleteUser", Resource: Resource{ARN: "arn:aws:iam::" + acct + ":user/x", Tenant: tt.resourceTenant}})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed() != tt.want {
				t.Fatalf("allowed = %v (%s), want %v", d.Allowed(), d.Reason, tt.want)
			}
		})
	}
}

// TestEngine_EffectiveCache checks that effective policies are reused for
// at most EffectiveTTL and reloaded at once after Invalidate.
func TestEngine_EffectiveCache(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	fake := &countingIdentity{fakeIdentity: fakeIdentity{users: map[string]*identity.Effective{"alice": {Policies: []identity.Document{{Source: "user", Name: "invoke", Document: allowInvoke}}}}}}
	a := &Engine{AccountID: acct, Identity: fake, Now: func() time.Time { return now }, EffectiveTTL: time.Second}
	req := &Request{Caller: &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/alice", UserName: "alice"}, Action: "sagemaker:InvokeEndpoint", Resource: Resource{ARN: "arn:aws:sagemaker:us-east-1:" + acct + ":endpoint/x"}}
	decide := func() bool {
		d, err := a.Authorize(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed()
	}
	steps := []struct {
		name      string
		do        func()
		wantLoads int
		wantAllow bool
	}{
		{"FirstLoads", func() {}, 1, true},
		{"SecondCached", func() {}, 1, true},
		{"EditUnseenWithinTTL", func() { fake.users["alice"] = &identity.Effective{} }, 1, true},
		{"InvalidateReloads", a.Invalidate, 2, false},
		{"TTLExpires", func() {
			fake.users["alice"] = &identity.Effective{Policies: []identity.Document{{Source: "user", Name: "invoke", Document: allowInvoke}}}
			now = now.Add(2 * time.Second)
		}, 3, true},
	}
	for _, st := range steps {
		st.do()
		if got := decide(); got != st.wantAllow {
			t.Fatalf("%s: allowed = %v, want %v", st.name, got, st.wantAllow)
		}
		if fake.loads != st.wantLoads {
			t.Fatalf("%s: %d loads, want %d", st.name, fake.loads, st.wantLoads)
		}
	}
}

type countingIdentity struct {
	fakeIdentity
	loads int
}

func (c *countingIdentity) PoliciesForUser(ctx context.Context, acct, name string) (*identity.Effective, error) {
	c.loads++
	return c.fakeIdentity.PoliciesForUser(ctx, acct, name)
}

// TestEngine_PlatformOnly checks that a tenant's principal allowed
// everything still cannot change what the platform decides about its
// tenant, while reading it is left to its policies.
func TestEngine_PlatformOnly(t *testing.T) {
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	fake := &fakeIdentity{users: map[string]*identity.Effective{"admin": {Policies: []identity.Document{{Source: "user", Name: "all", Document: allowAll}}}}}
	a := &Engine{AccountID: acct, Identity: fake}
	own := Resource{ARN: "arn:aws:tenantml:us-east-1:" + acct + ":tenant/acme", Tenant: "acme"}
	for _, tt := range []struct {
		action, tenant string
		want           bool
	}{
		{"tenantml:UpdateTenant", "acme", false},
		{"tenantml:SuspendTenant", "acme", false},
		{"tenantml:EraseTenant", "acme", false},
		{"tenantml:SetTenantIsolation", "acme", false},
		{"tenantml:GetTenant", "acme", true},
		{"tenantml:DeployModel", "acme", true},
		{"tenantml:UpdateTenant", "", true},
	} {
		c := &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/admin", UserName: "admin", TenantID: tt.tenant}
		d, err := a.Authorize(context.Background(), &Request{Caller: c, Action: tt.action, Resource: own})
		if err != nil || d.Allowed() != tt.want {
			t.Errorf("%s by tenant %q: allowed %v (%s), want %v", tt.action, tt.tenant, d.Allowed(), d.Reason, tt.want)
		}
	}
}

// TestEngine_Accounts: an account's root acts freely in its own account;
// on another account's resource it gets only what the resource's policy
// grants it, and a resource whose ARN names no account (S3) belongs to
// its Resource.Account. A user of another account needs both sides.
func TestEngine_Accounts(t *testing.T) {
	const other = "444455556666"
	grantOther := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + other + `:root"},"Action":"s3:GetObject","Resource":"*"}]}`
	vpceOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + other + `:root"},"Action":"s3:GetObject","Resource":"*"},` +
		`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-0abc1234def567890"}}}]}`
	allowGet := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	fake := &fakeIdentity{users: map[string]*identity.Effective{
		"reader": {Policies: []identity.Document{{Source: "user", Name: "get", Document: allowGet}}},
		"none":   {},
	}}
	a := &Engine{AccountID: acct, Identity: fake}
	root := func(a string) *authn.Principal {
		return &authn.Principal{Type: authn.Root, Account: a, ARN: "arn:aws:iam::" + a + ":root"}
	}
	user := func(name string) *authn.Principal {
		return &authn.Principal{Type: authn.IAMUser, Account: other, ARN: "arn:aws:iam::" + other + ":user/" + name, UserName: name}
	}
	obj := "arn:aws:s3:::models/m.tar.gz"
	tests := []struct {
		name   string
		caller *authn.Principal
		res    Resource
		origin Origin
		want   string
	}{
		{"RootOwnAccount", root(other), Resource{ARN: endpointARN(other)}, Origin{}, "Allowed"},
		{"RootOtherAccountNoPolicy", root(other), Resource{ARN: endpointARN(acct)}, Origin{}, "ImplicitlyDenied"},
		{"RootOwnBucket", root(other), Resource{ARN: obj, Account: other}, Origin{}, "Allowed"},
		{"RootOtherBucketNoPolicy", root(other), Resource{ARN: obj, Account: acct}, Origin{}, "ImplicitlyDenied"},
		{"RootOtherBucketGranted", root(other), Resource{ARN: obj, Account: acct, Policy: mustParse(t, a, grantOther)}, Origin{}, "Allowed"},
		{"UserOtherBucketGrantedAndAllowed", user("reader"), Resource{ARN: obj, Account: acct, Policy: mustParse(t, a, grantOther)}, Origin{}, "Allowed"},
		{"UserOtherBucketGrantedNotAllowed", user("none"), Resource{ARN: obj, Account: acct, Policy: mustParse(t, a, grantOther)}, Origin{}, "ImplicitlyDenied"},
		{"UserOtherBucketAllowedNotGranted", user("reader"), Resource{ARN: obj, Account: acct}, Origin{}, "ImplicitlyDenied"},
		{"VpceDenyOutside", user("reader"), Resource{ARN: obj, Account: acct, Policy: mustParse(t, a, vpceOnly)}, Origin{}, "ExplicitlyDenied"},
		{"VpceDenyOtherEndpoint", user("reader"), Resource{ARN: obj, Account: acct, Policy: mustParse(t, a, vpceOnly)}, Origin{VPCEndpoint: "vpce-0fff0000def567890"}, "ExplicitlyDenied"},
		{"VpceAllowInside", user("reader"), Resource{ARN: obj, Account: acct, Policy: mustParse(t, a, vpceOnly)}, Origin{VPCEndpoint: "vpce-0abc1234def567890", VPC: "vpc-0123456789abcdef0"}, "Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := a.Authorize(context.Background(), &Request{Caller: tt.caller, Action: "s3:GetObject", Resource: tt.res, Origin: tt.origin})
			if err != nil {
				t.Fatal(err)
			}
			if d.Effect.String() != tt.want {
				t.Fatalf("effect = %s (%s), want %s", d.Effect, d.Reason, tt.want)
			}
		})
	}
}

func endpointARN(acct string) string { return "arn:aws:sagemaker:us-east-1:" + acct + ":endpoint/x" }

func mustParse(t *testing.T, e *Engine, doc string) *iam.Policy {
	t.Helper()
	p, err := e.Parse(doc, iam.KindResource)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
