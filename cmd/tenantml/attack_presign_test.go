package main

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/tenantml/tenantml/artifact"
)

// testF07PresignedURLOutlivesIssuer is finding 7: a presigned URL kept
// working after its issuer lost the permission and its key. Now a URL is
// re-authorized as its issuer when it is used: it stops with the issuer's
// permission, works again with it, stops for good with the issuer's key;
// and a role session's URL expires no later than the session.
func testF07PresignedURLOutlivesIssuer(t *testing.T, e *attackEnv) {
	acme := e.tenants["acme"]
	adm := acme.users["admin"]
	name := "acme.presigner"
	e.mustIAM(t, adm, "CreateUser", "UserName", name, "Path", acme.path, "PermissionsBoundary", boundaryARN,
		"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme")
	e.mustIAM(t, adm, "AttachUserPolicy", "UserName", name, "PolicyArn", dataScientistARN)
	issuer := e.accessKey(t, adm, "presigner", name)
	r := e.mustOK(t, issuer, manageRequest(http.MethodPost, "/api/v1/tenants/acme/artifacts/"+acme.artifact+"/presign", []byte(`{"method":"GET","expiresIn":3600}`)))
	presigned := jsonField(t, r.body, "url")
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get(presigned)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK || body != "model bytes of acme" {
		t.Fatalf("presigned GET by a permitted issuer: %d %q", code, firstLine(body))
	}
	e.mustIAM(t, adm, "DetachUserPolicy", "UserName", name, "PolicyArn", dataScientistARN)
	if code, body := get(); code != http.StatusForbidden {
		t.Errorf("presigned GET after the issuer's policy was detached: %d %q, want 403", code, firstLine(body))
	}
	e.mustIAM(t, adm, "AttachUserPolicy", "UserName", name, "PolicyArn", dataScientistARN)
	if code, body := get(); code != http.StatusOK {
		t.Errorf("presigned GET after the policy was attached again: %d %q, want 200", code, firstLine(body))
	}
	e.mustIAM(t, adm, "UpdateAccessKey", "UserName", name, "AccessKeyId", issuer.keyID, "Status", "Inactive")
	if code, body := get(); code != http.StatusForbidden {
		t.Errorf("presigned GET after the issuer's key was deactivated: %d %q, want 403", code, firstLine(body))
	}

	// A session's URL: never beyond the session's expiry, and bound to
	// its token (another session's token does not fit the signature).
	s := e.tenants["acme"].session
	r = send(t, e.ts, s, manageRequest(http.MethodPost, "/api/v1/tenants/acme/artifacts/"+acme.artifact+"/presign", []byte(`{"method":"GET","expiresIn":604800}`)))
	if r.status != http.StatusOK {
		// The broker session may not presign; its expiry rule is then
		// moot, but the refusal must be a clean 403.
		if r.status != http.StatusForbidden {
			t.Errorf("session presign: %d %s", r.status, firstLine(string(r.body)))
		}
		return
	}
	u, err := url.Parse(jsonField(t, r.body, "url"))
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := strconv.ParseInt(u.Query().Get(artifact.QueryExpires), 10, 64)
	if time.Unix(exp, 0).After(e.clock.now().Add(13 * time.Hour)) {
		t.Errorf("a session's presigned URL expires at %v, beyond any session's lifetime", time.Unix(exp, 0))
	}
}
