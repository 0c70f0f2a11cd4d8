package sts_test

import (
	"bytes"
	"context"
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
	apists "github.com/tenantml/tenantml/api/sts"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/sts"
)

const acct = "111122223333"

// headerAuthn picks the caller by the X-Test-Caller header.
type headerAuthn map[string]*authn.Principal

func (h headerAuthn) Authenticate(r *http.Request) (*authn.Principal, error) {
	if p, ok := h[r.Header.Get("X-Test-Caller")]; ok {
		return p, nil
	}
	return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "unknown caller")
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, *api.AuditRecord) error { return nil }

type fixture struct {
	url    string
	issuer *sts.Issuer
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	alice := "arn:aws:iam::" + acct + ":user/alice"
	poolRole := "arn:aws:iam::" + acct + ":role/pool"
	roles := []*identity.Role{
		{Name: "pool", MaxSessionDuration: 7200, Tags: map[string]string{"Model": "pool"}, AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"sts:AssumeRole"},
			{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"sts:TagSession","Condition":{"StringEquals":{"aws:RequestTag/TenantID":"acme"}}}]}`},
		{Name: "partner", AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-123"}}}]}`},
		{Name: "chained", MaxSessionDuration: 7200, AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + poolRole + `"},"Action":"sts:AssumeRole"}]}`},
	}
	for _, r := range roles {
		if err := db.Identity().CreateRole(ctx, acct, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Identity().CreateUser(ctx, acct, &identity.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	ring, err := sts.NewKeyRing(1, map[uint32][]byte{1: bytes.Repeat([]byte{7}, sts.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.issuer = &sts.Issuer{Keys: ring, Now: clock}
	callers := headerAuthn{
		"alice": {Type: authn.IAMUser, Account: acct, ARN: alice, UserName: "alice", UserID: "AIDAALICE"},
		"root":  {Type: authn.Root, Account: acct, ARN: "arn:aws:iam::" + acct + ":root", UserID: acct},
		"session": {Type: authn.AssumedRole, Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/pool/s", UserID: "AROAPOOL:s",
			TenantID: "acme", Tags: map[string]string{"TenantID": "acme"}, Session: &authn.Session{RoleARN: poolRole, Name: "s", IssuedAt: f.now.Add(-time.Minute), TransitiveTagKeys: []string{"TenantID"}}},
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	engine := &authz.Engine{AccountID: acct, Identity: db.Identity(), Now: clock}
	p := &api.Pipeline{Authn: callers, Authz: engine, Audit: nopAudit{}, Log: log, Now: clock}
	protocol := apists.Protocol()
	router := api.NewAWSRouter(p, protocol)
	(&apists.AssumeRole{AccountID: acct, Identity: db.Identity(), Policies: engine, Issuer: f.issuer, Pipeline: p, Protocol: protocol, Now: clock}).Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fixture) assume(t *testing.T, caller string, params ...string) (int, string) {
	t.Helper()
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Set(params[i], params[i+1])
	}
	req, _ := http.NewRequest("POST", f.url+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Caller", caller)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

type assumeRoleResponse struct {
	Result apists.AssumeRoleResult `xml:"AssumeRoleResult"`
}

func TestAssumeRole_Register(t *testing.T) {
	f := newFixture(t)
	pool := "arn:aws:iam::" + acct + ":role/pool"
	tests := []struct {
		name   string
		caller string
		params []string
		status int
		code   string
	}{
		{"OKWithTag", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme", "TransitiveTagKeys.member.1", "TenantID"}, 200, ""},
		{"OKDurationWithinRoleMax", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "DurationSeconds", "7200"}, 200, ""},
		{"OKExternalID", "alice", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/partner", "RoleSessionName", "s1", "ExternalId", "ext-123"}, 200, ""},
		{"OKChainedFromRoleSession", "session", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/chained", "RoleSessionName", "s2"}, 200, ""},
		{"ErrTagNotAllowedByTrust", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "globex"}, 403, "AccessDenied"},
		{"ErrWrongExternalID", "alice", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/partner", "RoleSessionName", "s1", "ExternalId", "guess"}, 403, "AccessDenied"},
		{"ErrTrustDoesNotNameCaller", "session", []string{"RoleArn", pool, "RoleSessionName", "s1"}, 403, "AccessDenied"},
		{"ErrRoot", "root", []string{"RoleArn", pool, "RoleSessionName", "s1"}, 403, "AccessDenied"},
		{"ErrNoSuchRole", "alice", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/ghost", "RoleSessionName", "s1"}, 403, "AccessDenied"},
		{"ErrOtherAccountRole", "alice", []string{"RoleArn", "arn:aws:iam::999999999999:role/pool", "RoleSessionName", "s1"}, 403, "AccessDenied"},
		{"ErrNotAnARN", "alice", []string{"RoleArn", "pool", "RoleSessionName", "s1"}, 403, "AccessDenied"},
		{"ErrMissingRoleArn", "alice", []string{"RoleSessionName", "s1"}, 400, "ValidationError"},
		{"ErrBadDurationNumber", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "DurationSeconds", "soon"}, 400, "ValidationError"},
		{"ErrDurationAboveRoleMax", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "DurationSeconds", "10800"}, 400, "ValidationError"},
		{"ErrDurationTooShort", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "DurationSeconds", "60"}, 400, "ValidationError"},
		{"ErrChainedOverOneHour", "session", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/chained", "RoleSessionName", "s2", "DurationSeconds", "7200"}, 400, "ValidationError"},
		{"ErrSessionName", "alice", []string{"RoleArn", pool, "RoleSessionName", "a b"}, 400, "ValidationError"},
		{"ErrMalformedSessionPolicy", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "Policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps"}]}`}, 400, "MalformedPolicyDocument"},
		{"OKManagedSessionPolicy", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "PolicyArns.member.1.arn", identity.BuiltinARNPrefix + "Viewer"}, 200, ""},
		{"ErrManagedSessionPolicyMissing", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "PolicyArns.member.1.arn", "arn:aws:iam::" + acct + ":policy/nope"}, 400, "InvalidParameterValue"},
		{"ErrSessionPolicyNotJSON", "alice", []string{"RoleArn", pool, "RoleSessionName", "s1", "Policy", `not json`}, 400, "MalformedPolicyDocument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.assume(t, tt.caller, tt.params...)
			if status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", status, tt.status, body)
			}
			if tt.code != "" && !strings.Contains(body, "<Code>"+tt.code+"</Code>") {
				t.Fatalf("want code %s:\n%s", tt.code, body)
			}
			if tt.code == "" {
				var res assumeRoleResponse
				if err := xml.Unmarshal([]byte(body), &res); err != nil {
					t.Fatal(err)
				}
				if c := res.Result.Credentials; !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SecretAccessKey == "" || c.SessionToken == "" {
					t.Fatalf("credentials missing: %s", body)
				}
			}
		})
	}

	t.Run("SessionCarriesTagsAndDuration", func(t *testing.T) {
		_, body := f.assume(t, "alice", "RoleArn", pool, "RoleSessionName", "tagged", "DurationSeconds", "1800",
			"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme", "TransitiveTagKeys.member.1", "TenantID")
		var res assumeRoleResponse
		if err := xml.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		r := res.Result
		if r.AssumedRoleUser.Arn != "arn:aws:sts::"+acct+":assumed-role/pool/tagged" || !strings.HasSuffix(r.AssumedRoleUser.AssumedRoleID, ":tagged") || r.PackedPolicySize < 1 {
			t.Fatalf("result = %+v", r)
		}
		if got, want := r.Credentials.Expiration, f.now.Add(30*time.Minute).Format("2006-01-02T15:04:05Z"); got != want {
			t.Errorf("expiration = %s, want %s", got, want)
		}
		opened, err := f.issuer.Open(r.Credentials.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		s := opened.Session
		if s.Tags["TenantID"] != "acme" || s.Tags["Model"] != "pool" || len(s.TransitiveTagKeys) != 1 || s.RoleARN != pool {
			t.Fatalf("session = %+v", s)
		}
	})
	t.Run("ChainedInheritsTransitiveTags", func(t *testing.T) {
		_, body := f.assume(t, "session", "RoleArn", "arn:aws:iam::"+acct+":role/chained", "RoleSessionName", "chain-1")
		var res assumeRoleResponse
		if err := xml.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		opened, err := f.issuer.Open(res.Result.Credentials.SessionToken)
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if !opened.Session.Chained || opened.Session.Tags["TenantID"] != "acme" {
			t.Fatalf("session = %+v", opened.Session)
		}
	})
}
