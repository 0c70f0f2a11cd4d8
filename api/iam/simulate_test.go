package iam_test

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	apiiam "github.com/tenantml/tenantml/api/iam"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store/sqlite"
)

// simResponse is the part of Simulate*Response the tests check.
type simResponse struct {
	Results []struct {
		Action   string   `xml:"EvalActionName"`
		Resource string   `xml:"EvalResourceName"`
		Decision string   `xml:"EvalDecision"`
		Missing  []string `xml:"MissingContextValues>member"`
		Matched  []struct {
			ID   string `xml:"SourcePolicyId"`
			Type string `xml:"SourcePolicyType"`
		} `xml:"MatchedStatements>member"`
		Boundary *struct {
			Allowed bool `xml:"AllowedByPermissionsBoundary"`
		} `xml:"PermissionsBoundaryDecisionDetail"`
	} `xml:"SimulateCustomPolicyResult>EvaluationResults>member"`
	PrincipalResults []struct {
		Action   string `xml:"EvalActionName"`
		Decision string `xml:"EvalDecision"`
		Matched  []struct {
			ID   string `xml:"SourcePolicyId"`
			Type string `xml:"SourcePolicyType"`
		} `xml:"MatchedStatements>member"`
	} `xml:"SimulatePrincipalPolicyResult>EvaluationResults>member"`
}

const (
	poolEndpoint = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint"
	poolPolicy   = `{"Version":"2012-10-17","Statement":[{"Sid":"PoolInvoke","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"` + poolEndpoint + `","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`
	denyDelete   = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:DeleteEndpoint","Resource":"*"}]}`
	allowAll     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"}]}`
)

func TestSurface_SimulateCustomPolicy(t *testing.T) {
	f := newFixture(t)
	ctxEntries := func(tenant, model string) []string {
		return []string{
			"ContextEntries.member.1.ContextKeyName", "aws:PrincipalTag/TenantID", "ContextEntries.member.1.ContextKeyType", "string", "ContextEntries.member.1.ContextKeyValues.member.1", tenant,
			"ContextEntries.member.2.ContextKeyName", "sagemaker:TargetModel", "ContextEntries.member.2.ContextKeyType", "string", "ContextEntries.member.2.ContextKeyValues.member.1", model,
		}
	}
	type want struct{ action, decision, matched, matchedType string }
	tests := []struct {
		name    string
		params  []string
		status  int
		code    string
		want    []want
		missing []string
	}{
		{"Allowed", []string{"PolicyInputList.member.1", allowAll, "ActionNames.member.1", "sagemaker:InvokeEndpoint"}, 200, "",
			[]want{{"sagemaker:InvokeEndpoint", "allowed", "PolicyInputList.1", "IAM Policy"}}, nil},
		{"ExplicitDenyAndImplicitDeny", []string{"PolicyInputList.member.1", allowAll, "PolicyInputList.member.2", denyDelete,
			"ActionNames.member.1", "sagemaker:DeleteEndpoint", "ActionNames.member.2", "s3:GetObject"}, 200, "",
			[]want{{"sagemaker:DeleteEndpoint", "explicitDeny", "PolicyInputList.2", "IAM Policy"}, {"s3:GetObject", "implicitDeny", "", ""}}, nil},
		{"PoolOwnTenant", append([]string{"PolicyInputList.member.1", poolPolicy, "ActionNames.member.1", "sagemaker:InvokeEndpoint", "ResourceArns.member.1", poolEndpoint}, ctxEntries("acme", "acme.tar.gz")...), 200, "",
			[]want{{"sagemaker:InvokeEndpoint", "allowed", "PolicyInputList.1", "IAM Policy"}}, nil},
		{"PoolOtherTenantsModel", append([]string{"PolicyInputList.member.1", poolPolicy, "ActionNames.member.1", "sagemaker:InvokeEndpoint", "ResourceArns.member.1", poolEndpoint}, ctxEntries("globex", "acme.tar.gz")...), 200, "",
			[]want{{"sagemaker:InvokeEndpoint", "implicitDeny", "", ""}}, nil},
		{"PoolWithoutContext", []string{"PolicyInputList.member.1", poolPolicy, "ActionNames.member.1", "sagemaker:InvokeEndpoint", "ResourceArns.member.1", poolEndpoint}, 200, "",
			[]want{{"sagemaker:InvokeEndpoint", "implicitDeny", "", ""}}, []string{"aws:PrincipalTag/TenantID", "sagemaker:TargetModel"}},
		{"BoundaryCaps", []string{"PolicyInputList.member.1", allowAll, "PermissionsBoundaryPolicyInputList.member.1", policy,
			"ActionNames.member.1", "sagemaker:InvokeEndpoint", "ActionNames.member.2", "sagemaker:CreateModel"}, 200, "",
			[]want{{"sagemaker:InvokeEndpoint", "allowed", "PolicyInputList.1 PermissionsBoundaryPolicyInputList.1", "IAM Policy"}, {"sagemaker:CreateModel", "implicitDeny", "PolicyInputList.1", "IAM Policy"}}, nil},
		{"ErrMalformedPolicy", []string{"PolicyInputList.member.1", `{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps","Action":"*","Resource":"*"}]}`, "ActionNames.member.1", "s3:GetObject"}, 400, "MalformedPolicyDocument", nil, nil},
		{"ErrMalformedJSON", []string{"PolicyInputList.member.1", `{"Statement":`, "ActionNames.member.1", "s3:GetObject"}, 400, "MalformedPolicyDocument", nil, nil},
		{"ErrMalformedResourcePolicy", []string{"PolicyInputList.member.1", allowAll, "ResourcePolicy", allowAll, "ActionNames.member.1", "s3:GetObject"}, 400, "MalformedPolicyDocument", nil, nil},
		{"ErrNoPolicies", []string{"ActionNames.member.1", "s3:GetObject"}, 400, "ValidationError", nil, nil},
		{"ErrNoActions", []string{"PolicyInputList.member.1", allowAll}, 400, "ValidationError", nil, nil},
		{"ErrBadContextType", []string{"PolicyInputList.member.1", allowAll, "ActionNames.member.1", "s3:GetObject",
			"ContextEntries.member.1.ContextKeyName", "k", "ContextEntries.member.1.ContextKeyType", "colour", "ContextEntries.member.1.ContextKeyValues.member.1", "v"}, 400, "ValidationError", nil, nil},
		{"ErrSingleTypeTwoValues", []string{"PolicyInputList.member.1", allowAll, "ActionNames.member.1", "s3:GetObject",
			"ContextEntries.member.1.ContextKeyName", "k", "ContextEntries.member.1.ContextKeyType", "string",
			"ContextEntries.member.1.ContextKeyValues.member.1", "a", "ContextEntries.member.1.ContextKeyValues.member.2", "b"}, 400, "InvalidInput", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.call(t, append([]string{"Action", "SimulateCustomPolicy"}, tt.params...)...)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != "" {
				if !strings.Contains(body, "<Code>"+tt.code+"</Code>") {
					t.Fatalf("want code %s: %s", tt.code, body)
				}
				return
			}
			var got simResponse
			if err := xml.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%v in %s", err, body)
			}
			if len(got.Results) != len(tt.want) {
				t.Fatalf("%d results, want %d: %s", len(got.Results), len(tt.want), body)
			}
			for i, w := range tt.want {
				r := got.Results[i]
				if r.Action != w.action || r.Decision != w.decision || r.Resource == "" {
					t.Errorf("result %d = %s %s on %q, want %s %s", i, r.Action, r.Decision, r.Resource, w.action, w.decision)
				}
				var ids []string
				for _, m := range r.Matched {
					ids = append(ids, m.ID)
					if m.Type != w.matchedType {
						t.Errorf("result %d: %s has type %q, want %q", i, m.ID, m.Type, w.matchedType)
					}
				}
				if strings.Join(ids, " ") != w.matched {
					t.Errorf("result %d matched %v, want %q", i, ids, w.matched)
				}
			}
			if tt.missing != nil && !reflect.DeepEqual(got.Results[0].Missing, tt.missing) {
				t.Errorf("missing context values %v, want %v", got.Results[0].Missing, tt.missing)
			}
			if tt.name == "BoundaryCaps" {
				if b := got.Results[1].Boundary; b == nil || b.Allowed {
					t.Errorf("CreateModel boundary detail %+v, want not allowed by the boundary", b)
				}
				if b := got.Results[0].Boundary; b == nil || !b.Allowed {
					t.Errorf("InvokeEndpoint boundary detail %+v, want allowed by the boundary", b)
				}
			}
		})
	}
}

func TestSurface_SimulatePrincipalPolicy(t *testing.T) {
	f := newFixture(t)
	setup := [][]string{
		{"Action", "CreateUser", "UserName", "alice", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme"},
		{"Action", "PutUserPolicy", "UserName", "alice", "PolicyName", "pool", "PolicyDocument", poolPolicy},
		{"Action", "CreatePolicy", "PolicyName", "invoke-only", "PolicyDocument", policy},
		{"Action", "CreateRole", "RoleName", "capped", "AssumeRolePolicyDocument", trust, "PermissionsBoundary", "arn:aws:iam::" + acct + ":policy/invoke-only"},
		{"Action", "PutRolePolicy", "RoleName", "capped", "PolicyName", "all", "PolicyDocument", allowAll},
	}
	for _, p := range setup {
		if status, body := f.call(t, p...); status != 200 {
			t.Fatalf("%s: %d %s", p[1], status, body)
		}
	}
	model := []string{"ContextEntries.member.1.ContextKeyName", "sagemaker:TargetModel", "ContextEntries.member.1.ContextKeyType", "string", "ContextEntries.member.1.ContextKeyValues.member.1"}
	tests := []struct {
		name     string
		params   []string
		status   int
		code     string
		decision []string
		matched  string
	}{
		{"UserOwnTenantModel", append([]string{"PolicySourceArn", "arn:aws:iam::" + acct + ":user/alice", "ActionNames.member.1", "sagemaker:InvokeEndpoint", "ResourceArns.member.1", poolEndpoint}, append(model, "acme.tar.gz")...),
			200, "", []string{"allowed"}, "pool"},
		{"UserOtherTenantModel", append([]string{"PolicySourceArn", "arn:aws:iam::" + acct + ":user/alice", "ActionNames.member.1", "sagemaker:InvokeEndpoint", "ResourceArns.member.1", poolEndpoint}, append(model, "globex.tar.gz")...),
			200, "", []string{"implicitDeny"}, ""},
		{"UserPlusInputPolicy", []string{"PolicySourceArn", "arn:aws:iam::" + acct + ":user/alice", "PolicyInputList.member.1", denyDelete, "ActionNames.member.1", "sagemaker:DeleteEndpoint"},
			200, "", []string{"explicitDeny"}, "PolicyInputList.1"},
		{"RoleCappedByBoundary", []string{"PolicySourceArn", "arn:aws:iam::" + acct + ":role/capped", "ActionNames.member.1", "sagemaker:InvokeEndpoint", "ActionNames.member.2", "sagemaker:CreateModel"},
			200, "", []string{"allowed", "implicitDeny"}, "all arn:aws:iam::" + acct + ":policy/invoke-only"},
		{"ErrUnknownUser", []string{"PolicySourceArn", "arn:aws:iam::" + acct + ":user/nobody", "ActionNames.member.1", "s3:GetObject"}, 404, "NoSuchEntity", nil, ""},
		{"ErrUnknownRole", []string{"PolicySourceArn", "arn:aws:iam::" + acct + ":role/nobody", "ActionNames.member.1", "s3:GetObject"}, 404, "NoSuchEntity", nil, ""},
		{"ErrOtherAccount", []string{"PolicySourceArn", "arn:aws:iam::999988887777:user/alice", "ActionNames.member.1", "s3:GetObject"}, 404, "NoSuchEntity", nil, ""},
		{"ErrNotAnARN", []string{"PolicySourceArn", "alice", "ActionNames.member.1", "s3:GetObject"}, 400, "InvalidInput", nil, ""},
		{"ErrGroupSource", []string{"PolicySourceArn", "arn:aws:iam::" + acct + ":group/devs", "ActionNames.member.1", "s3:GetObject"}, 400, "InvalidInput", nil, ""},
		{"ErrMissingSource", []string{"ActionNames.member.1", "s3:GetObject"}, 400, "ValidationError", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.call(t, append([]string{"Action", "SimulatePrincipalPolicy"}, tt.params...)...)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != "" {
				if !strings.Contains(body, "<Code>"+tt.code+"</Code>") {
					t.Fatalf("want code %s: %s", tt.code, body)
				}
				return
			}
			var got simResponse
			if err := xml.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%v in %s", err, body)
			}
			if len(got.PrincipalResults) != len(tt.decision) {
				t.Fatalf("%d results, want %d: %s", len(got.PrincipalResults), len(tt.decision), body)
			}
			for i, d := range tt.decision {
				if got.PrincipalResults[i].Decision != d {
					t.Errorf("result %d (%s) = %s, want %s", i, got.PrincipalResults[i].Action, got.PrincipalResults[i].Decision, d)
				}
			}
			var ids []string
			for _, m := range got.PrincipalResults[0].Matched {
				ids = append(ids, m.ID)
			}
			if strings.Join(ids, " ") != tt.matched {
				t.Errorf("matched %v, want %q", ids, tt.matched)
			}
		})
	}
}

// TestSurface_SimulateAsTenantAdmin checks that the Simulate* actions are
// decided with the source entity's tags: the built-in TenantAdmin may
// simulate its own tenant's roles only, and (as on AWS, where its resource
// is "*") not custom policies.
func TestSurface_SimulateAsTenantAdmin(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek, err := keys.OpenLocalKEK(filepath.Join(dir, "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc := db.Identity()
	boundaryARN := identity.BuiltinARNPrefix + "TenantRoleBoundary"
	admin := &identity.User{Name: "admin-a", PermissionsBoundary: boundaryARN, Tags: map[string]string{"TenantID": "tenant-a"}}
	if err := svc.CreateUser(ctx, acct, admin); err != nil {
		t.Fatal(err)
	}
	if err := svc.AttachPolicy(ctx, acct, identity.Ref{Kind: identity.KindUser, Name: admin.Name}, identity.BuiltinARNPrefix+"TenantAdmin"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ name, tenant string }{{"role-a", "tenant-a"}, {"role-b", "tenant-b"}} {
		if err := svc.CreateRole(ctx, acct, &identity.Role{Name: r.name, AssumeRolePolicyDocument: trust, Tags: map[string]string{"TenantID": r.tenant}}); err != nil {
			t.Fatal(err)
		}
		if err := svc.PutInlinePolicy(ctx, acct, identity.Ref{Kind: identity.KindRole, Name: r.name}, "invoke", policy); err != nil {
			t.Fatal(err)
		}
	}
	caller := &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: admin.ARN, UserID: admin.ID, UserName: admin.Name, TenantID: admin.TenantID, Tags: admin.Tags, PermissionsBoundaryARN: boundaryARN}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	engine := &authz.Engine{AccountID: acct, Identity: svc, Now: time.Now}
	p := &api.Pipeline{Authn: headerAuthn{"admin-a": caller}, Authz: engine, Audit: &nopAudit{}, Log: log, Now: time.Now}
	protocol := apiiam.Protocol()
	router := api.NewAWSRouter(p, protocol)
	(&apiiam.Surface{AccountID: acct, Service: svc, KEK: kek, Rand: rand.Reader, Pipeline: p, Protocol: protocol, Invalidate: engine.Invalidate, Policies: engine}).Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)

	tests := []struct {
		name   string
		params []string
		status int
		want   string
	}{
		{"OwnTenantRole", []string{"Action", "SimulatePrincipalPolicy", "PolicySourceArn", "arn:aws:iam::" + acct + ":role/role-a", "ActionNames.member.1", "sagemaker:InvokeEndpoint"}, 200, "<EvalDecision>allowed</EvalDecision>"},
		{"ErrOtherTenantRole", []string{"Action", "SimulatePrincipalPolicy", "PolicySourceArn", "arn:aws:iam::" + acct + ":role/role-b", "ActionNames.member.1", "sagemaker:InvokeEndpoint"}, 403, "<Code>AccessDenied</Code>"},
		{"ErrMissingRoleIsDenied", []string{"Action", "SimulatePrincipalPolicy", "PolicySourceArn", "arn:aws:iam::" + acct + ":role/ghost", "ActionNames.member.1", "sagemaker:InvokeEndpoint"}, 403, "<Code>AccessDenied</Code>"},
		{"ErrCustomPolicy", []string{"Action", "SimulateCustomPolicy", "PolicyInputList.member.1", policy, "ActionNames.member.1", "sagemaker:InvokeEndpoint"}, 403, "<Code>AccessDenied</Code>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"Version": {"2010-05-08"}}
			for i := 0; i+1 < len(tt.params); i += 2 {
				form.Set(tt.params[i], tt.params[i+1])
			}
			req, err := http.NewRequest("POST", srv.URL+"/", strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Test-Caller", "admin-a")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("status %d, want %d with %s:\n%s", resp.StatusCode, tt.status, tt.want, body)
			}
		})
	}
}

// FuzzSurface_Simulate posts Simulate* requests with arbitrary policies,
// context entries and source ARNs: the answer is XML, never a 5xx or a
// panic.
//
//	go test ./api/iam/ -run XXX -fuzz FuzzSurface_Simulate -fuzztime=15s
func FuzzSurface_Simulate(f *testing.F) {
	f.Add(poolPolicy, "aws:PrincipalTag/TenantID", "string", "acme", "arn:aws:iam::"+acct+":user/alice", "*")
	f.Add(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"${x}":"true"}}}}`, "", "stringList", "", "arn:aws:iam::"+acct+":user", "arn:x")
	f.Add(`${`, "k", "numericList", "1", "arn:aws:iam::"+acct+":role/", "")
	ctx := context.Background()
	dir := f.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	kek, err := keys.OpenLocalKEK(filepath.Join(dir, "master.key"), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	p := &api.Pipeline{Authn: rootAuthn{}, Authz: &authz.RootOnly{AccountID: acct}, Audit: &nopAudit{}, Log: log, Now: time.Now}
	protocol := apiiam.Protocol()
	router := api.NewAWSRouter(p, protocol)
	(&apiiam.Surface{AccountID: acct, Service: db.Identity(), KEK: kek, Rand: rand.Reader, Pipeline: p, Protocol: protocol}).Register(router)
	f.Fuzz(func(t *testing.T, doc, key, typ, value, source, resource string) {
		for _, action := range []string{"SimulateCustomPolicy", "SimulatePrincipalPolicy"} {
			form := url.Values{"Version": {"2010-05-08"}, "Action": {action}, "PolicyInputList.member.1": {doc},
				"PermissionsBoundaryPolicyInputList.member.1": {doc}, "ResourcePolicy": {doc}, "PolicySourceArn": {source},
				"ActionNames.member.1": {"sagemaker:InvokeEndpoint"}, "ResourceArns.member.1": {resource},
				"ContextEntries.member.1.ContextKeyName": {key}, "ContextEntries.member.1.ContextKeyType": {typ},
				"ContextEntries.member.1.ContextKeyValues.member.1": {value}}
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			if rec.Code >= 500 || !strings.HasPrefix(rec.Body.String(), "<") {
				t.Fatalf("%s: status %d for %q:\n%s", action, rec.Code, form.Encode(), rec.Body.String())
			}
		}
	})
}
