package sts_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authn/sigv4/sigv4test"
	"github.com/tenantml/tenantml/sts"
)

// revocations is a RevocationChecker over a map.
type revocations map[string]time.Time

func (r revocations) RevokedBefore(_ context.Context, role string) (time.Time, error) {
	if role == "error" {
		return time.Time{}, errors.New("store down")
	}
	return r[role], nil
}

type failingRevocations struct{}

func (failingRevocations) RevokedBefore(context.Context, string) (time.Time, error) {
	return time.Time{}, errors.New("store down")
}

func TestSource_Credential(t *testing.T) {
	c := &clock{t0}
	is := issuer(t, ring(t, 1, 1), c)
	creds, err := is.Issue(session(), sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := is.Issue(session(), sts.Parties{})
	role := session().RoleARN
	tests := []struct {
		name  string
		src   *sts.Source
		keyID string
		token string
		at    time.Time
		want  string
	}{
		{"OK", &sts.Source{Issuer: is}, creds.AccessKeyID, creds.SessionToken, t0, ""},
		{"OKRevokedOlder", &sts.Source{Issuer: is, Revocations: revocations{role: t0.Add(-time.Minute)}}, creds.AccessKeyID, creds.SessionToken, t0, ""},
		{"ErrNoToken", &sts.Source{Issuer: is}, creds.AccessKeyID, "", t0, authn.CodeInvalidClientTokenID},
		{"ErrOtherKeysToken", &sts.Source{Issuer: is}, creds.AccessKeyID, other.SessionToken, t0, authn.CodeInvalidClientTokenID},
		{"ErrTampered", &sts.Source{Issuer: is}, creds.AccessKeyID, tamper(creds.SessionToken), t0, authn.CodeInvalidClientTokenID},
		{"ErrExpired", &sts.Source{Issuer: is}, creds.AccessKeyID, creds.SessionToken, t0.Add(2 * time.Hour), authn.CodeExpiredToken},
		{"ErrRevoked", &sts.Source{Issuer: is, Revocations: revocations{role: t0.Add(time.Second)}}, creds.AccessKeyID, creds.SessionToken, t0.Add(time.Minute), authn.CodeAccessDenied},
		{"ErrRevocationUnavailable", &sts.Source{Issuer: is, Revocations: failingRevocations{}}, creds.AccessKeyID, creds.SessionToken, t0, authn.CodeInternalFailure},
		{"ErrNoIssuer", &sts.Source{}, creds.AccessKeyID, creds.SessionToken, t0, authn.CodeInternalFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.now = tt.at
			defer func() { c.now = t0 }()
			got, err := tt.src.Credential(context.Background(), tt.keyID, tt.token)
			if code := authn.ErrorCode(err); code != tt.want {
				t.Fatalf("Credential() error = %v, want code %q", err, tt.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), creds.SecretAccessKey) || strings.Contains(err.Error(), creds.SessionToken) {
					t.Fatal("error leaks a secret")
				}
				return
			}
			p := got.Principal
			if got.Secret != creds.SecretAccessKey || p.Type != authn.AssumedRole ||
				p.ARN != "arn:aws:sts::111122223333:assumed-role/InvokeRole/acme-session" ||
				p.PrincipalARN() != role || p.UserID != "AROAEXAMPLEROLE00001:acme-session" ||
				p.Tags["TenantID"] != "acme" || p.Session.Policy != session().Policy || !p.MFA {
				t.Fatalf("principal = %+v session %+v", p, p.Session)
			}
			keys := p.ContextKeys()
			if keys["aws:TokenIssueTime"] != "2026-11-23T10:00:00Z" || keys["aws:PrincipalTag/TenantID"] != "acme" ||
				keys["aws:SourceIdentity"] != "alice" || keys["aws:MultiFactorAuthPresent"] != "true" || keys["aws:PrincipalType"] != "AssumedRole" {
				t.Fatalf("context keys = %v", keys)
			}
			if _, ok := keys["aws:username"]; ok {
				t.Fatal("aws:username set for a role session")
			}
		})
	}
}

// sessionServer runs a SigV4 verifier that resolves ASIA keys through the
// session token source, with the real clock as real clients need.
func sessionServer(t *testing.T, is *sts.Issuer, rev sts.RevocationChecker) *sigv4test.Server {
	t.Helper()
	src := authn.Sources{Session: &sts.Source{Issuer: is, Revocations: rev}}
	return sigv4test.NewServer(t, sigv4.NewVerifier(src))
}

func realIssuer(t *testing.T) *sts.Issuer {
	t.Helper()
	return sts.NewIssuer(ring(t, 1, 1))
}

func liveSession(expires time.Duration) sts.Session {
	s := session()
	s.IssuedAt = time.Now().Add(-time.Minute)
	s.Expiration = time.Now().Add(expires)
	return s
}

func TestSource_Credential_awsCLI(t *testing.T) {
	is := realIssuer(t)
	srv := sessionServer(t, is, revocations{"arn:aws:iam::111122223333:role/Revoked": time.Now()})
	creds, err := is.Issue(liveSession(time.Hour), sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	keys := sigv4test.Keys{AccessKeyID: creds.AccessKeyID, Secret: creds.SecretAccessKey, SessionToken: creds.SessionToken}
	t.Run("GetCallerIdentity", func(t *testing.T) {
		out, stderr, err := sigv4test.RunCLI(t, keys, srv.URL, "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws sts get-caller-identity: %v\n%s", err, stderr)
		}
		var got struct {
			Arn    string
			UserID string `json:"UserId"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got.Arn != "arn:aws:sts::111122223333:assumed-role/InvokeRole/acme-session" || got.UserID != "AROAEXAMPLEROLE00001:acme-session" {
			t.Fatalf("caller identity = %+v", got)
		}
	})
	t.Run("ErrTamperedToken", func(t *testing.T) {
		bad := keys
		bad.SessionToken = tamper(keys.SessionToken)
		_, stderr, err := sigv4test.RunCLI(t, bad, srv.URL, "sts", "get-caller-identity")
		if err == nil || !strings.Contains(stderr, "InvalidClientTokenId") {
			t.Fatalf("err = %v, stderr = %q, want InvalidClientTokenId", err, stderr)
		}
	})
}

func TestSource_Credential_goSDK(t *testing.T) {
	is := realIssuer(t)
	revoked := "arn:aws:iam::111122223333:role/Revoked"
	srv := sessionServer(t, is, revocations{revoked: time.Now()})
	call := func(c sts.Credentials) error {
		cfg := aws.Config{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
			BaseEndpoint:     aws.String(srv.URL),
			RetryMaxAttempts: 1,
		}
		_, err := awssts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
		return err
	}
	issue := func(t *testing.T, s sts.Session) sts.Credentials {
		t.Helper()
		c, err := is.Issue(s, sts.Parties{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("OK", func(t *testing.T) {
		if err := call(issue(t, liveSession(time.Hour))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		s := liveSession(time.Hour)
		s.IssuedAt = time.Now().Add(-2 * time.Hour)
		s.Expiration = time.Now().Add(-time.Hour)
		if err := call(issue(t, s)); err == nil || !strings.Contains(err.Error(), "ExpiredToken") {
			t.Fatalf("err = %v, want ExpiredToken", err)
		}
	})
	t.Run("ErrRevoked", func(t *testing.T) {
		s := liveSession(time.Hour)
		s.RoleARN = revoked
		s.AssumedRoleARN = ""
		if err := call(issue(t, s)); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("err = %v, want AccessDenied", err)
		}
	})
	t.Run("ErrSwappedToken", func(t *testing.T) {
		a, b := issue(t, liveSession(time.Hour)), issue(t, liveSession(time.Hour))
		a.SessionToken = b.SessionToken
		if err := call(a); err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
			t.Fatalf("err = %v, want InvalidClientTokenId", err)
		}
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		a := issue(t, liveSession(time.Hour))
		a.SecretAccessKey = strings.Repeat("A", 40)
		if err := call(a); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
			t.Fatalf("err = %v, want SignatureDoesNotMatch", err)
		}
	})
}

// boto3Session calls GetCallerIdentity header-signed and through a presigned
// URL with the session credentials in the environment (the token travels as
// X-Amz-Security-Token in the header, then in the query).
const boto3Session = `
import json, sys, urllib.request, urllib.error, boto3
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1")
out = {"arn": sts.get_caller_identity()["Arn"]}
url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
out["token_in_query"] = "X-Amz-Security-Token=" in url
try:
    with urllib.request.urlopen(url) as resp:
        out["presigned"] = resp.read().decode()
except urllib.error.HTTPError as e:
    out["presigned"] = "%d %s" % (e.code, e.read().decode())
print(json.dumps(out))
`

func TestSource_Credential_boto3(t *testing.T) {
	is := realIssuer(t)
	srv := sessionServer(t, is, nil)
	creds, err := is.Issue(liveSession(time.Hour), sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	keys := sigv4test.Keys{AccessKeyID: creds.AccessKeyID, Secret: creds.SecretAccessKey, SessionToken: creds.SessionToken}
	out, stderr, err := sigv4test.RunPython(t, keys, boto3Session, srv.URL)
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr)
	}
	var got struct {
		ARN          string `json:"arn"`
		TokenInQuery bool   `json:"token_in_query"`
		Presigned    string `json:"presigned"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	const want = "arn:aws:sts::111122223333:assumed-role/InvokeRole/acme-session"
	t.Run("HeaderSigned", func(t *testing.T) {
		if got.ARN != want {
			t.Fatalf("arn = %q, want %q", got.ARN, want)
		}
	})
	t.Run("Presigned", func(t *testing.T) {
		if !got.TokenInQuery || !strings.Contains(got.Presigned, want) {
			t.Fatalf("presigned: token in query %v, answer %q", got.TokenInQuery, got.Presigned)
		}
	})
}
