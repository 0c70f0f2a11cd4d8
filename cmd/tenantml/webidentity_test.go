package main

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/authn/oidc/oidctest"
)

// trustIssuer makes the system roots trust the loopback issuer's
// certificate (httptest's, the same for every httptest TLS server): the
// server fetches discovery and keys over TLS with the system roots, so
// this must run before anything in this process loads them (in a test
// that is not parallel: t.Setenv). It returns the certificate.
func trustIssuer(t *testing.T, is *oidctest.Issuer) *x509.Certificate {
	t.Helper()
	certFile := filepath.Join(t.TempDir(), "issuer.pem")
	cert := is.Certificate()
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", certFile)
	return cert
}

// TestWebIdentity_AWSCLI drives OpenID Connect federation with the real AWS
// CLI: root registers a loopback issuer (with the tenant_id → TenantID claim
// mapping) and a role trusting it on <provider>:aud and the TenantID tag,
// then assume-role-with-web-identity's credentials call
// get-caller-identity; wrong audience, a disallowed tenant and an expired
// token are refused with AWS's codes.
func TestWebIdentity_AWSCLI(t *testing.T) {
	is := oidctest.NewIssuer(t, true)
	cert := trustIssuer(t, is)
	sum := sha1.Sum(cert.Raw)

	ts := startServer(t, rootEnv)
	acct := ts.cfg.AccountID
	provider := strings.TrimPrefix(is.URL, "https://")
	providerARN := "arn:aws:iam::" + acct + ":oidc-provider/" + provider

	out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "iam", "create-open-id-connect-provider", "--url", is.URL,
		"--client-id-list", "tenantml-app", "--thumbprint-list", hex.EncodeToString(sum[:]),
		"--tags", "Key=tenantml:claim-tag:tenant_id,Value=TenantID", "Key=team,Value=ml")
	if err != nil {
		t.Fatalf("aws iam create-open-id-connect-provider: %v\n%s", err, out)
	}
	var created struct{ OpenIDConnectProviderArn string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.OpenIDConnectProviderArn != providerARN {
		t.Fatalf("created provider = %s (%v), want %s", out, err, providerARN)
	}

	out, err = awsCLI(t, ts, rootKeyID, rootSecret, "", "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", providerARN)
	if err != nil {
		t.Fatalf("aws iam get-open-id-connect-provider: %v\n%s", err, out)
	}
	var got struct {
		Url          string
		ClientIDList []string
		Tags         []struct{ Key, Value string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.Url != provider || len(got.ClientIDList) != 1 || got.ClientIDList[0] != "tenantml-app" || !strings.Contains(out, `"tenantml:claim-tag:tenant_id"`) {
		t.Fatalf("provider = %s", out)
	}

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},
		"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
		"Condition":{"StringEquals":{"` + provider + `:aud":"tenantml-app","aws:RequestTag/TenantID":"tenant-a"}}}]}`
	if out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "iam", "create-role", "--role-name", "web-invoke", "--assume-role-policy-document", trust); err != nil {
		t.Fatalf("aws iam create-role: %v\n%s", err, out)
	}
	roleARN := "arn:aws:iam::" + acct + ":role/web-invoke"

	token := func(aud, tenant string, exp time.Time) string {
		return is.Sign(t, map[string]any{"iss": is.URL, "sub": "user-42", "aud": aud, "tenant_id": tenant,
			"iat": exp.Add(-time.Hour).Unix(), "exp": exp.Unix()})
	}
	assume := func(tok string) (string, error) {
		return awsCLI(t, ts, "", "", "", "sts", "assume-role-with-web-identity", "--role-arn", roleARN,
			"--role-session-name", "s1", "--web-identity-token", tok)
	}

	t.Run("AssumeAndCall", func(t *testing.T) {
		tok := token("tenantml-app", "tenant-a", time.Now().Add(time.Hour))
		out, err := assume(tok)
		if err != nil {
			t.Fatalf("aws sts assume-role-with-web-identity: %v\n%s", err, out)
		}
		var res struct {
			Credentials                           struct{ AccessKeyId, SecretAccessKey, SessionToken string }
			SubjectFromWebIdentityToken, Provider string
			Audience                              string
			AssumedRoleUser                       struct{ Arn string }
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		wantARN := "arn:aws:sts::" + acct + ":assumed-role/web-invoke/s1"
		if !strings.HasPrefix(res.Credentials.AccessKeyId, "ASIA") || res.SubjectFromWebIdentityToken != "user-42" ||
			res.Provider != providerARN || res.Audience != "tenantml-app" || res.AssumedRoleUser.Arn != wantARN {
			t.Fatalf("result = %s", out)
		}
		out, err = awsCLI(t, ts, res.Credentials.AccessKeyId, res.Credentials.SecretAccessKey, res.Credentials.SessionToken, "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws sts get-caller-identity: %v\n%s", err, out)
		}
		var who struct{ Arn, Account string }
		if err := json.Unmarshal([]byte(out), &who); err != nil || who.Arn != wantARN || who.Account != acct {
			t.Fatalf("caller identity = %s (%v), want %s", out, err, wantARN)
		}
		for name, secret := range map[string]string{"session secret": res.Credentials.SecretAccessKey, "session token": res.Credentials.SessionToken, "web identity token": tok} {
			if strings.Contains(ts.logs.String(), secret) {
				t.Errorf("server logs contain the %s", name)
			}
		}
	})

	tests := []struct {
		name, token, wantCode string
	}{
		{"ErrWrongAudience", token("someone-else", "tenant-a", time.Now().Add(time.Hour)), "InvalidIdentityToken"},
		{"ErrOtherTenant", token("tenantml-app", "tenant-b", time.Now().Add(time.Hour)), "AccessDenied"},
		{"ErrExpired", token("tenantml-app", "tenant-a", time.Now().Add(-time.Hour)), "ExpiredTokenException"},
		{"ErrNotAJWT", "not-a-token", "InvalidIdentityToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := assume(tt.token)
			if err == nil || !strings.Contains(out, "("+tt.wantCode+")") {
				t.Fatalf("assume-role-with-web-identity: err %v, output %s; want %s", err, out, tt.wantCode)
			}
		})
	}

	t.Run("ListAndDelete", func(t *testing.T) {
		out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "iam", "list-open-id-connect-providers")
		if err != nil || !strings.Contains(out, providerARN) {
			t.Fatalf("aws iam list-open-id-connect-providers: %v\n%s", err, out)
		}
		if out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "iam", "delete-open-id-connect-provider", "--open-id-connect-provider-arn", providerARN); err != nil {
			t.Fatalf("aws iam delete-open-id-connect-provider: %v\n%s", err, out)
		}
		out, err = assume(token("tenantml-app", "tenant-a", time.Now().Add(time.Hour)))
		if err == nil || !strings.Contains(out, "(InvalidIdentityToken)") {
			t.Fatalf("assume after delete: err %v, output %s; want InvalidIdentityToken", err, out)
		}
	})
}
