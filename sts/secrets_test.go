package sts_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/oidc"
	"github.com/tenantml/tenantml/authn/oidc/oidctest"
	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authn/sigv4/sigv4test"
	"github.com/tenantml/tenantml/sts"
)

// TestSecrets_notLogged drives every authentication path of authn/sigv4,
// authn/oidc and sts — successes and each kind of failure — with their
// loggers at debug level, logs every value and error they return the way a
// careless handler would, and then searches the output for every secret the
// test created: the long-term secret key, the session secret, the session
// token, the token key and the web identity tokens.
func TestSecrets_notLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	now := time.Now()

	tokenKey := make([]byte, sts.KeySize)
	if _, err := rand.Read(tokenKey); err != nil {
		t.Fatal(err)
	}
	kr, err := sts.NewKeyRing(7, map[uint32][]byte{7: tokenKey})
	if err != nil {
		t.Fatal(err)
	}
	is := sts.NewIssuer(kr)
	s := session()
	s.IssuedAt, s.Expiration = now.Add(-time.Minute), now.Add(time.Hour)
	creds, err := is.Issue(s, sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	expiredSession := s
	expiredSession.IssuedAt, expiredSession.Expiration = now.Add(-2*time.Hour), now.Add(-time.Hour)
	expired, err := is.Issue(expiredSession, sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	secretBytes := make([]byte, 30)
	if _, err := rand.Read(secretBytes); err != nil {
		t.Fatal(err)
	}
	longTermSecret := base64.StdEncoding.EncodeToString(secretBytes)
	const longTermID = "AKIAIOSFODNN7EXAMPLE"
	static := sigv4test.StaticCredentials{longTermID: {AccessKeyID: longTermID, Secret: longTermSecret,
		Principal: &authn.Principal{Type: authn.IAMUser, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice"}}}

	v := sigv4.NewVerifier(authn.Sources{LongTerm: static, Session: &sts.Source{Issuer: is}})
	v.Logger = logger

	sign := func(id, secret, token string, presign bool) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:1/endpoints/e/invocations", strings.NewReader("body"))
		c := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
		if presign {
			req = httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1/?Action=GetCallerIdentity&X-Amz-Expires=60", nil)
			uri, _, err := v4.NewSigner().PresignHTTP(ctx, c, req, sigv4.UnsignedPayload, "sts", "us-east-1", now)
			if err != nil {
				t.Fatal(err)
			}
			return httptest.NewRequest(http.MethodGet, uri, nil)
		}
		if err := v4.NewSigner().SignHTTP(ctx, c, req, sha256Hex("body"), "sagemaker", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		return req
	}
	requests := map[string]*http.Request{
		"long-term":          sign(longTermID, longTermSecret, "", false),
		"long-term-wrong":    sign(longTermID, longTermSecret+"x", "", false),
		"session":            sign(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, false),
		"session-presigned":  sign(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, true),
		"session-wrong":      sign(creds.AccessKeyID, "wrong", creds.SessionToken, false),
		"session-tampered":   sign(creds.AccessKeyID, creds.SecretAccessKey, tamper(creds.SessionToken), false),
		"session-expired":    sign(expired.AccessKeyID, expired.SecretAccessKey, expired.SessionToken, false),
		"session-other-key":  sign(expired.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, false),
		"session-no-token":   sign(creds.AccessKeyID, creds.SecretAccessKey, "", false),
		"long-term-w-token":  sign(longTermID, longTermSecret, creds.SessionToken, false),
		"session-skewed":     sign(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, false),
		"presigned-tampered": sign(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, true),
	}
	requests["session-skewed"].Header.Set("X-Amz-Date", now.Add(time.Hour).UTC().Format("20060102T150405Z"))
	requests["presigned-tampered"].URL.RawQuery = strings.Replace(requests["presigned-tampered"].URL.RawQuery, "GetCallerIdentity", "AssumeRole", 1)
	okCount := 0
	for name, r := range requests {
		res, err := v.Verify(r)
		if err == nil {
			okCount++
			t.Logf("verified: %s", name)
		}
		logger.Info("verified", "case", name, "result", res, "err", err, "errText", fmt.Sprintf("%v %+v", err, err))
	}
	if okCount != 3 {
		t.Fatalf("%d requests verified, want 3 (the setup is wrong)", okCount)
	}

	opened, err := is.Open(creds.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := (&sts.Source{Issuer: is}).Credential(ctx, creds.AccessKeyID, creds.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	_, openErr := is.Open(creds.SessionToken[:40])
	logger.Info("values", "creds", creds, "opened", opened, "openedPtr", &opened, "cred", cred, "openErr", openErr,
		"text", fmt.Sprintf("%v %+v %#v %v %+v %v", creds, creds, creds, opened, *opened, cred))

	idp := oidctest.NewIssuer(t, false)
	ov, err := oidc.NewVerifier(oidc.ProviderConfig{IssuerURL: idp.URL, ClientIDs: []string{"app"}}, oidc.Options{HTTPClient: idp.Client(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": idp.URL, "sub": "u", "aud": "app", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	jwtGood := idp.Sign(t, claims)
	claims["aud"] = "other"
	jwtBadAud := idp.Sign(t, claims)
	claims["aud"], claims["exp"] = "app", now.Add(-time.Hour).Unix()
	jwtExpired := idp.Sign(t, claims)
	jwtTampered := jwtGood[:len(jwtGood)-4] + "AAAA"
	for _, tok := range []string{jwtGood, jwtBadAud, jwtExpired, jwtTampered} {
		id, err := ov.Verify(ctx, tok)
		logger.Info("oidc", "identity", id, "err", err, "errText", fmt.Sprintf("%+v", err))
	}

	secrets := map[string]string{
		"long-term secret":      longTermSecret,
		"session secret":        creds.SecretAccessKey,
		"session token":         creds.SessionToken,
		"expired session token": expired.SessionToken,
		"expired secret":        expired.SecretAccessKey,
		"token key hex":         hex.EncodeToString(tokenKey),
		"token key base64":      base64.StdEncoding.EncodeToString(tokenKey),
		"token key base64url":   base64.RawURLEncoding.EncodeToString(tokenKey),
		"jwt":                   jwtGood,
		"jwt signature":         jwtGood[strings.LastIndex(jwtGood, ".")+1:],
		"jwt bad audience":      jwtBadAud,
		"jwt expired":           jwtExpired,
	}
	out := logs.String()
	if !strings.Contains(out, creds.AccessKeyID) || !strings.Contains(out, "SignatureDoesNotMatch") || !strings.Contains(out, "InvalidIdentityToken") {
		t.Fatalf("the logs do not hold what the test logged; the search below would prove nothing:\n%s", out)
	}
	for name, secret := range secrets {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			// Also look for a prefix, so a truncated secret is caught too.
			probe := secret
			if len(probe) > 24 {
				probe = probe[:24]
			}
			if strings.Contains(out, probe) {
				t.Fatalf("the logs contain the %s", name)
			}
		})
	}
	t.Logf("searched %d bytes of logs for %d secrets", len(out), len(secrets))
}

// tamper changes one character in the middle of s.
func tamper(s string) string {
	i := len(s) / 2
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
