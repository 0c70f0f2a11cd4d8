package iam_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	apiiam "github.com/tenantml/tenantml/api/iam"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store/sqlite"
)

// FuzzSurface posts arbitrary form bodies as the root user: whatever the
// input, the surface answers with XML and never a 5xx or a panic.
//
//	go test ./api/iam/ -run XXX -fuzz FuzzSurface -fuzztime=15s
func FuzzSurface(f *testing.F) {
	for _, seed := range []string{
		"Action=CreateUser&UserName=alice&Tags.member.1.Key=TenantID&Tags.member.1.Value=a",
		"Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=99999999999999999999",
		"Action=PutRolePolicy&RoleName=r&PolicyName=p&PolicyDocument=%7B%22Statement%22%3A%5B%5D%7D",
		"Action=CreatePolicy&PolicyName=p&PolicyDocument=null&Path=//",
		"Action=ListUsers&MaxItems=-1&Marker=%00",
		"Action=UntagRole&RoleName=r&TagKeys.member.1=",
		"Action=GetPolicyVersion&PolicyArn=arn:aws:iam::aws:policy/tenantml/Viewer&VersionId=v1",
		"Action=CreateAccessKey",
		"%zz",
	} {
		f.Add(seed)
	}
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
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q:\n%s", rec.Code, body, rec.Body.String())
		}
		if !strings.HasPrefix(rec.Body.String(), "<") {
			t.Fatalf("not XML for %q: %s", body, rec.Body.String())
		}
	})
}
