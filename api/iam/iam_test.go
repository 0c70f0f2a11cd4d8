package iam_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
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

const acct = "111122223333"

type rootAuthn struct{}

func (rootAuthn) Authenticate(*http.Request) (*authn.Principal, error) {
	return &authn.Principal{Type: authn.Root, Account: acct, ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}, nil
}

type nopAudit struct{ resources []string }

func (a *nopAudit) Record(_ context.Context, rec *api.AuditRecord) error {
	a.resources = append(a.resources, rec.Action+" "+rec.Resource)
	return nil
}

type fixture struct {
	url   string
	kek   keys.KEK
	audit *nopAudit
	logs  *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek, err := keys.OpenLocalKEK(filepath.Join(dir, "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{kek: kek, audit: &nopAudit{}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	p := &api.Pipeline{Authn: rootAuthn{}, Authz: &authz.RootOnly{AccountID: acct}, Audit: f.audit, Log: log, Now: time.Now}
	protocol := apiiam.Protocol()
	router := api.NewAWSRouter(p, protocol)
	(&apiiam.Surface{AccountID: acct, Service: db.Identity(), KEK: kek, Rand: rand.Reader, Pipeline: p, Protocol: protocol}).Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// call posts a query-protocol request and returns status and body.
func (f *fixture) call(t *testing.T, params ...string) (int, string) {
	t.Helper()
	form := url.Values{"Version": {"2010-05-08"}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Set(params[i], params[i+1])
	}
	resp, err := http.PostForm(f.url+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

const (
	trust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
	policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`
)

func TestSurface_Register(t *testing.T) {
	f := newFixture(t)
	policyARN := "arn:aws:iam::" + acct + ":policy/invoke"
	steps := []struct {
		name   string
		params []string
		status int
		want   []string // substrings of the body
	}{
		{"CreateUser", []string{"Action", "CreateUser", "UserName", "alice", "Path", "/team/", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme"}, 200,
			[]string{"<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">", "<UserName>alice</UserName>", "<Arn>arn:aws:iam::111122223333:user/team/alice</Arn>", "<Key>TenantID</Key>", "<RequestId>"}},
		{"ErrCreateUserTwice", []string{"Action", "CreateUser", "UserName", "ALICE"}, 409, []string{"<Code>EntityAlreadyExists</Code>", "<Type>Sender</Type>"}},
		{"ErrCreateUserMissingName", []string{"Action", "CreateUser"}, 400, []string{"<Code>ValidationError</Code>", "userName"}},
		{"ErrCreateUserBadName", []string{"Action", "CreateUser", "UserName", "no spaces allowed"}, 400, []string{"<Code>ValidationError</Code>"}},
		{"GetUser", []string{"Action", "GetUser", "UserName", "alice"}, 200, []string{"<GetUserResult><User><Path>/team/</Path>"}},
		{"ErrGetUserMissing", []string{"Action", "GetUser", "UserName", "nobody"}, 404, []string{"<Code>NoSuchEntity</Code>"}},
		{"ListUsers", []string{"Action", "ListUsers"}, 200, []string{"<Users><member>", "<IsTruncated>false</IsTruncated>"}},
		{"ErrListUsersMaxItems", []string{"Action", "ListUsers", "MaxItems", "0"}, 400, []string{"<Code>ValidationError</Code>"}},
		{"CreateAccessKey", []string{"Action", "CreateAccessKey", "UserName", "alice"}, 200, []string{"<AccessKeyId>AKIA", "<SecretAccessKey>", "<Status>Active</Status>"}},
		{"ListAccessKeys", []string{"Action", "ListAccessKeys", "UserName", "alice"}, 200, []string{"<AccessKeyMetadata><member>", "<AccessKeyId>AKIA"}},
		{"ErrDeleteUserWithKey", []string{"Action", "DeleteUser", "UserName", "alice"}, 409, []string{"<Code>DeleteConflict</Code>"}},
		{"CreateRole", []string{"Action", "CreateRole", "RoleName", "pool", "AssumeRolePolicyDocument", trust, "MaxSessionDuration", "7200"}, 200,
			[]string{"<RoleName>pool</RoleName>", "<MaxSessionDuration>7200</MaxSessionDuration>", "<AssumeRolePolicyDocument>%7B%22Version%22"}},
		{"ErrCreateRoleBadTrust", []string{"Action", "CreateRole", "RoleName", "bad", "AssumeRolePolicyDocument", policy}, 400, []string{"<Code>MalformedPolicyDocument</Code>"}},
		{"ErrCreateRoleBadDuration", []string{"Action", "CreateRole", "RoleName", "bad", "AssumeRolePolicyDocument", trust, "MaxSessionDuration", "x"}, 400, []string{"<Code>ValidationError</Code>"}},
		{"TagRole", []string{"Action", "TagRole", "RoleName", "pool", "Tags.member.1.Key", "Team", "Tags.member.1.Value", "ml"}, 200, []string{"<TagRoleResponse"}},
		{"ListRoleTags", []string{"Action", "ListRoleTags", "RoleName", "pool"}, 200, []string{"<Key>Team</Key><Value>ml</Value>"}},
		{"UntagRole", []string{"Action", "UntagRole", "RoleName", "pool", "TagKeys.member.1", "Team"}, 200, nil},
		{"PutRolePolicy", []string{"Action", "PutRolePolicy", "RoleName", "pool", "PolicyName", "invoke", "PolicyDocument", policy}, 200, nil},
		{"GetRolePolicy", []string{"Action", "GetRolePolicy", "RoleName", "pool", "PolicyName", "invoke"}, 200, []string{"<PolicyName>invoke</PolicyName>", "<PolicyDocument>%7B"}},
		{"ListRolePolicies", []string{"Action", "ListRolePolicies", "RoleName", "pool"}, 200, []string{"<PolicyNames><member>invoke</member></PolicyNames>"}},
		{"ErrDeleteRoleWithPolicy", []string{"Action", "DeleteRole", "RoleName", "pool"}, 409, []string{"<Code>DeleteConflict</Code>"}},
		{"DeleteRolePolicy", []string{"Action", "DeleteRolePolicy", "RoleName", "pool", "PolicyName", "invoke"}, 200, nil},
		{"CreatePolicy", []string{"Action", "CreatePolicy", "PolicyName", "invoke", "PolicyDocument", policy}, 200, []string{"<Arn>" + policyARN + "</Arn>", "<DefaultVersionId>v1</DefaultVersionId>"}},
		{"CreatePolicyVersion", []string{"Action", "CreatePolicyVersion", "PolicyArn", policyARN, "PolicyDocument", policy, "SetAsDefault", "true"}, 200, []string{"<VersionId>v2</VersionId>", "<IsDefaultVersion>true</IsDefaultVersion>"}},
		{"GetPolicyVersion", []string{"Action", "GetPolicyVersion", "PolicyArn", policyARN, "VersionId", "v1"}, 200, []string{"<Document>%7B", "<IsDefaultVersion>false</IsDefaultVersion>"}},
		{"SetDefaultPolicyVersion", []string{"Action", "SetDefaultPolicyVersion", "PolicyArn", policyARN, "VersionId", "v1"}, 200, nil},
		{"GetPolicy", []string{"Action", "GetPolicy", "PolicyArn", policyARN}, 200, []string{"<DefaultVersionId>v1</DefaultVersionId>"}},
		{"ListPoliciesLocal", []string{"Action", "ListPolicies", "Scope", "Local"}, 200, []string{"<PolicyName>invoke</PolicyName>"}},
		{"AttachRolePolicy", []string{"Action", "AttachRolePolicy", "RoleName", "pool", "PolicyArn", policyARN}, 200, nil},
		{"ListAttachedRolePolicies", []string{"Action", "ListAttachedRolePolicies", "RoleName", "pool"}, 200, []string{"<PolicyArn>" + policyARN + "</PolicyArn>"}},
		{"ErrDeletePolicyAttached", []string{"Action", "DeletePolicy", "PolicyArn", policyARN}, 409, []string{"<Code>DeleteConflict</Code>"}},
		{"DetachRolePolicy", []string{"Action", "DetachRolePolicy", "RoleName", "pool", "PolicyArn", policyARN}, 200, nil},
		{"ErrDetachAgain", []string{"Action", "DetachRolePolicy", "RoleName", "pool", "PolicyArn", policyARN}, 404, []string{"<Code>NoSuchEntity</Code>"}},
		{"PutRolePermissionsBoundary", []string{"Action", "PutRolePermissionsBoundary", "RoleName", "pool", "PermissionsBoundary", policyARN}, 200, nil},
		{"GetRoleShowsBoundary", []string{"Action", "GetRole", "RoleName", "pool"}, 200, []string{"<PermissionsBoundaryArn>" + policyARN + "</PermissionsBoundaryArn>"}},
		{"DeleteRolePermissionsBoundary", []string{"Action", "DeleteRolePermissionsBoundary", "RoleName", "pool"}, 200, nil},
		{"UpdateAssumeRolePolicy", []string{"Action", "UpdateAssumeRolePolicy", "RoleName", "pool", "PolicyDocument", trust}, 200, nil},
		{"DeleteRole", []string{"Action", "DeleteRole", "RoleName", "pool"}, 200, nil},
		{"ListRolesEmpty", []string{"Action", "ListRoles"}, 200, []string{"<IsTruncated>false</IsTruncated>"}},
		{"ErrUnknownAction", []string{"Action", "FlyToTheMoon"}, 400, []string{"<Code>InvalidAction</Code>"}},
		{"TagUser", []string{"Action", "TagUser", "UserName", "alice", "Tags.member.1.Key", "Team", "Tags.member.1.Value", "ml"}, 200, nil},
		{"ListUserTags", []string{"Action", "ListUserTags", "UserName", "alice"}, 200, []string{"<Key>Team</Key><Value>ml</Value>", "<Key>TenantID</Key>"}},
		{"ErrUntagUserTenantID", []string{"Action", "UntagUser", "UserName", "alice", "TagKeys.member.1", "TenantID"}, 400, []string{"<Code>InvalidInput</Code>"}},
		{"UntagUser", []string{"Action", "UntagUser", "UserName", "alice", "TagKeys.member.1", "Team"}, 200, nil},
		{"PutUserPolicy", []string{"Action", "PutUserPolicy", "UserName", "alice", "PolicyName", "up", "PolicyDocument", policy}, 200, nil},
		{"GetUserPolicy", []string{"Action", "GetUserPolicy", "UserName", "alice", "PolicyName", "up"}, 200, []string{"<UserName>alice</UserName>", "<PolicyDocument>%7B"}},
		{"ListUserPolicies", []string{"Action", "ListUserPolicies", "UserName", "alice"}, 200, []string{"<member>up</member>"}},
		{"DeleteUserPolicy", []string{"Action", "DeleteUserPolicy", "UserName", "alice", "PolicyName", "up"}, 200, nil},
		{"AttachUserPolicy", []string{"Action", "AttachUserPolicy", "UserName", "alice", "PolicyArn", policyARN}, 200, nil},
		{"ListAttachedUserPolicies", []string{"Action", "ListAttachedUserPolicies", "UserName", "alice"}, 200, []string{"<PolicyArn>" + policyARN + "</PolicyArn>"}},
		{"DetachUserPolicy", []string{"Action", "DetachUserPolicy", "UserName", "alice", "PolicyArn", policyARN}, 200, nil},
		{"PutUserPermissionsBoundary", []string{"Action", "PutUserPermissionsBoundary", "UserName", "alice", "PermissionsBoundary", policyARN}, 200, nil},
		{"DeleteUserPermissionsBoundary", []string{"Action", "DeleteUserPermissionsBoundary", "UserName", "alice"}, 200, nil},
		{"CreateGroup", []string{"Action", "CreateGroup", "GroupName", "ml"}, 200, []string{"<GroupName>ml</GroupName>", "<GroupId>AGPA"}},
		{"CreatePlatformUser", []string{"Action", "CreateUser", "UserName", "ops"}, 200, nil},
		{"ErrAddTenantUserToGroup", []string{"Action", "AddUserToGroup", "GroupName", "ml", "UserName", "alice"}, 400, []string{"<Code>InvalidInput</Code>"}},
		{"AddUserToGroup", []string{"Action", "AddUserToGroup", "GroupName", "ml", "UserName", "ops"}, 200, nil},
		{"AttachGroupPolicy", []string{"Action", "AttachGroupPolicy", "GroupName", "ml", "PolicyArn", policyARN}, 200, nil},
		{"ErrDeleteGroupInUse", []string{"Action", "DeleteGroup", "GroupName", "ml"}, 409, []string{"<Code>DeleteConflict</Code>"}},
		{"DetachGroupPolicy", []string{"Action", "DetachGroupPolicy", "GroupName", "ml", "PolicyArn", policyARN}, 200, nil},
		{"RemoveUserFromGroup", []string{"Action", "RemoveUserFromGroup", "GroupName", "ml", "UserName", "ops"}, 200, nil},
		{"DeleteGroup", []string{"Action", "DeleteGroup", "GroupName", "ml"}, 200, nil},
		{"ListPolicyVersions", []string{"Action", "ListPolicyVersions", "PolicyArn", policyARN}, 200, []string{"<VersionId>v2</VersionId>", "<VersionId>v1</VersionId>"}},
		{"ErrDeleteDefaultVersion", []string{"Action", "DeletePolicyVersion", "PolicyArn", policyARN, "VersionId", "v1"}, 409, []string{"<Code>DeleteConflict</Code>"}},
		{"DeletePolicyVersion", []string{"Action", "DeletePolicyVersion", "PolicyArn", policyARN, "VersionId", "v2"}, 200, nil},
		{"DeletePolicy", []string{"Action", "DeletePolicy", "PolicyArn", policyARN}, 200, nil},
		{"ErrUpdateRoleMissing", []string{"Action", "UpdateRole", "RoleName", "pool", "MaxSessionDuration", "7200"}, 404, []string{"<Code>NoSuchEntity</Code>"}},
		{"ErrUpdateRoleBadDuration", []string{"Action", "UpdateRole", "RoleName", "pool", "MaxSessionDuration", "x"}, 400, []string{"<Code>ValidationError</Code>"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			status, body := f.call(t, st.params...)
			if status != st.status {
				t.Fatalf("status = %d, want %d\n%s", status, st.status, body)
			}
			for _, w := range st.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			var v any
			if err := xml.Unmarshal([]byte(body), &v); err != nil {
				t.Errorf("response is not XML: %v", err)
			}
		})
	}
	t.Run("ResourceIsEntityARN", func(t *testing.T) {
		want := "iam:CreateUser arn:aws:iam::" + acct + ":user/team/alice"
		if got := f.audit.resources[0]; got != want {
			t.Fatalf("audited %q, want %q", got, want)
		}
	})
}

func TestSurface_CreateAccessKey(t *testing.T) {
	f := newFixture(t)
	if status, body := f.call(t, "Action", "CreateUser", "UserName", "bob"); status != 200 {
		t.Fatal(body)
	}
	_, body := f.call(t, "Action", "CreateAccessKey", "UserName", "bob")
	var res struct {
		Result struct {
			AccessKey struct{ AccessKeyID, SecretAccessKey string }
		} `xml:"CreateAccessKeyResult"`
	}
	if err := xml.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	res.Result.AccessKey.AccessKeyID = between(body, "<AccessKeyId>", "</AccessKeyId>")
	key := res.Result.AccessKey
	t.Run("Shape", func(t *testing.T) {
		if len(key.AccessKeyID) != 20 || !strings.HasPrefix(key.AccessKeyID, "AKIA") || len(key.SecretAccessKey) != identity.SecretLen {
			t.Fatalf("key %q secret length %d", key.AccessKeyID, len(key.SecretAccessKey))
		}
	})
	t.Run("NotInListings", func(t *testing.T) {
		_, body := f.call(t, "Action", "ListAccessKeys", "UserName", "bob")
		if strings.Contains(body, key.SecretAccessKey) || !strings.Contains(body, key.AccessKeyID) {
			t.Fatalf("listing: %s", body)
		}
	})
	t.Run("NotLogged", func(t *testing.T) {
		if strings.Contains(f.logs.String(), key.SecretAccessKey) {
			t.Fatal("secret in logs")
		}
	})
	t.Run("ErrThirdKey", func(t *testing.T) {
		f.call(t, "Action", "CreateAccessKey", "UserName", "bob")
		status, body := f.call(t, "Action", "CreateAccessKey", "UserName", "bob")
		if status != 409 || !strings.Contains(body, "<Code>LimitExceeded</Code>") {
			t.Fatalf("status %d: %s", status, body)
		}
	})
	t.Run("UpdateAndDelete", func(t *testing.T) {
		if status, body := f.call(t, "Action", "UpdateAccessKey", "UserName", "bob", "AccessKeyId", key.AccessKeyID, "Status", "Inactive"); status != 200 {
			t.Fatalf("update: %s", body)
		}
		if _, body := f.call(t, "Action", "ListAccessKeys", "UserName", "bob"); !strings.Contains(body, "<Status>Inactive</Status>") {
			t.Fatalf("listing after update: %s", body)
		}
		if status, body := f.call(t, "Action", "UpdateAccessKey", "UserName", "bob", "AccessKeyId", key.AccessKeyID, "Status", "Sleeping"); status != 400 {
			t.Fatalf("bad status accepted: %d %s", status, body)
		}
		if status, body := f.call(t, "Action", "DeleteAccessKey", "UserName", "bob", "AccessKeyId", key.AccessKeyID); status != 200 {
			t.Fatalf("delete: %s", body)
		}
	})
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}
