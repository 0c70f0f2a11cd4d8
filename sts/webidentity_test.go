package sts_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenantml/tenantml/authn/oidc"
	"github.com/tenantml/tenantml/authn/oidc/oidctest"
	"github.com/tenantml/tenantml/authn/sigv4/sigv4test"
	"github.com/tenantml/tenantml/sts"
)

// TestWebIdentity_endToEnd walks the seed's JWT custom-claim flow with the
// pure pieces an AssumeRoleWithWebIdentity handler composes: a token from a
// loopback OIDC issuer carrying tenant_id is verified, the claim becomes the
// transitive session tag TenantID, the session is issued, and the AWS CLI
// calls with the returned credentials as that tenant's role session.
func TestWebIdentity_endToEnd(t *testing.T) {
	ctx := context.Background()
	idp := oidctest.NewIssuer(t, false)
	ov, err := oidc.NewVerifier(oidc.ProviderConfig{
		IssuerURL:           idp.URL,
		ClientIDs:           []string{"console"},
		ClaimTags:           map[string]string{"tenant_id": "TenantID"},
		TransitiveClaimTags: []string{"TenantID"},
	}, oidc.Options{HTTPClient: idp.Client()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	jwt := idp.Sign(t, map[string]any{"iss": idp.URL, "sub": "user-7", "aud": "console", "tenant_id": "acme",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	id, err := ov.Verify(ctx, jwt)
	if err != nil {
		t.Fatal(err)
	}

	const roleARN = "arn:aws:iam::111122223333:role/tenant/DataScientist"
	if err := sts.ValidateRoleSessionName("user-7"); err != nil {
		t.Fatal(err)
	}
	tags, transitive, err := sts.SessionTags(sts.TagInput{
		RoleTags:          map[string]string{"TenantID": "unset", "Role": "DataScientist"},
		Request:           sts.TagList(id.Tags),
		TransitiveTagKeys: id.TransitiveTagKeys,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.PackedPolicySize("", nil, sts.TagList(id.Tags)); err != nil {
		t.Fatal(err)
	}
	d, err := sts.SessionDuration(0, 4*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	is := realIssuer(t)
	creds, err := is.Issue(sts.Session{
		Account: "111122223333", RoleARN: roleARN, RoleID: "AROAEXAMPLEDS0000001", RoleSessionName: "user-7",
		Tags: tags, TransitiveTagKeys: transitive, FederatedProvider: id.Provider,
		IssuedAt: now, Expiration: now.Add(d),
	}, sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("PrincipalTags", func(t *testing.T) {
		cred, err := (&sts.Source{Issuer: is}).Credential(ctx, creds.AccessKeyID, creds.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		keys := cred.Principal.ContextKeys()
		want := map[string]string{
			"aws:PrincipalTag/TenantID": "acme", "aws:PrincipalTag/Role": "DataScientist",
			"aws:PrincipalArn": roleARN, "aws:FederatedProvider": id.Provider, "aws:PrincipalType": "AssumedRole",
		}
		for k, v := range want {
			if keys[k] != v {
				t.Errorf("%s = %q, want %q", k, keys[k], v)
			}
		}
		if c := sts.ChainFrom(cred.Principal); c.TransitiveTags["TenantID"] != "acme" {
			t.Errorf("TenantID is not transitive: %+v", c)
		}
	})
	t.Run("AWSCLI", func(t *testing.T) {
		srv := sessionServer(t, is, nil)
		keys := sigv4test.Keys{AccessKeyID: creds.AccessKeyID, Secret: creds.SecretAccessKey, SessionToken: creds.SessionToken}
		out, stderr, err := sigv4test.RunCLI(t, keys, srv.URL, "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws sts get-caller-identity: %v\n%s", err, stderr)
		}
		var got struct{ Arn string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if want := "arn:aws:sts::111122223333:assumed-role/DataScientist/user-7"; got.Arn != want {
			t.Fatalf("Arn = %q, want %q", got.Arn, want)
		}
	})
}
