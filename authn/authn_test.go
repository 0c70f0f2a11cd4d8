package authn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

type otherKey struct{}

func TestFromContext(t *testing.T) {
	p := &authn.Principal{Type: authn.IAMUser, ARN: "arn:aws:iam::111122223333:user/alice"}
	tests := []struct {
		name string
		ctx  context.Context
		want *authn.Principal
	}{
		{"OK", authn.NewContext(context.Background(), p), p},
		{"Missing", context.Background(), nil},
		{"Nil", authn.NewContext(context.Background(), nil), nil},
		{"OtherKeyNotConfused", context.WithValue(context.Background(), otherKey{}, p), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := authn.FromContext(tt.ctx)
			if got != tt.want || ok != (tt.want != nil) {
				t.Fatalf("FromContext() = %v, %v, want %v", got, ok, tt.want)
			}
		})
	}
}

func TestPrincipal_ContextKeys(t *testing.T) {
	issued := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		p    authn.Principal
		want map[string]string
	}{
		{"Root", authn.Principal{Type: authn.Root, Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", UserID: "111122223333"},
			map[string]string{
				"aws:PrincipalArn": "arn:aws:iam::111122223333:root", "aws:PrincipalAccount": "111122223333",
				"aws:PrincipalType": "Account", "aws:userid": "111122223333",
			}},
		{"IAMUser", authn.Principal{Type: authn.IAMUser, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/ops/alice",
			UserID: "AIDAEXAMPLE", UserName: "alice", Tags: map[string]string{"Team": "ml"}},
			map[string]string{
				"aws:PrincipalArn": "arn:aws:iam::111122223333:user/ops/alice", "aws:PrincipalAccount": "111122223333",
				"aws:PrincipalType": "User", "aws:userid": "AIDAEXAMPLE", "aws:username": "alice", "aws:PrincipalTag/Team": "ml",
			}},
		// The TenantID tag always reports Principal.TenantID: a tag of
		// that name (in any case) is never taken for it.
		{"AssumedRole", authn.Principal{Type: authn.AssumedRole, Account: "111122223333",
			ARN: "arn:aws:sts::111122223333:assumed-role/Invoke/s1", UserID: "AROAEXAMPLE:s1", UserName: "ignored",
			TenantID: "acme", Tags: map[string]string{"TenantID": "globex", "tenantid": "globex"}, MFA: false,
			Session: &authn.Session{RoleARN: "arn:aws:iam::111122223333:role/Invoke", Name: "s1", IssuedAt: issued,
				SourceIdentity: "alice", FederatedProvider: "idp.example.com"}},
			map[string]string{
				"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Invoke", "aws:PrincipalAccount": "111122223333",
				"aws:PrincipalType": "AssumedRole", "aws:userid": "AROAEXAMPLE:s1", "aws:PrincipalTag/TenantID": "acme",
				"aws:TokenIssueTime": "2026-11-23T10:00:00Z", "aws:MultiFactorAuthPresent": "false",
				"aws:SourceIdentity": "alice", "aws:FederatedProvider": "idp.example.com",
			}},
		{"PlatformWithTenantTag", authn.Principal{Type: authn.IAMUser, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/ops",
			UserID: "AIDAOPS", UserName: "ops", Tags: map[string]string{"TenantID": "globex"}},
			map[string]string{
				"aws:PrincipalArn": "arn:aws:iam::111122223333:user/ops", "aws:PrincipalAccount": "111122223333",
				"aws:PrincipalType": "User", "aws:userid": "AIDAOPS", "aws:username": "ops",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.ContextKeys(); !maps.Equal(got, tt.want) {
				t.Fatalf("ContextKeys() =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestErrorf_Kind(t *testing.T) {
	tests := []struct {
		code       string
		kind       string
		wantStatus int // the status override; 0 means the kind's
	}{
		{authn.CodeMissingAuthenticationToken, tenantml.EUNAUTHORIZED, 0},
		{authn.CodeInvalidClientTokenID, tenantml.EUNAUTHORIZED, 0},
		{authn.CodeSignatureDoesNotMatch, tenantml.EUNAUTHORIZED, 0},
		{authn.CodeExpiredToken, tenantml.EUNAUTHORIZED, 0},
		{authn.CodeAccessDenied, tenantml.EFORBIDDEN, 0},
		{authn.CodeIncompleteSignature, tenantml.EUNAUTHORIZED, 400},
		{authn.CodeRequestExpired, tenantml.EUNAUTHORIZED, 400},
		{authn.CodeInvalidIdentityToken, tenantml.EUNAUTHORIZED, 400},
		{authn.CodeRequestEntityTooLarge, tenantml.ETOOLARGE, 0},
		{authn.CodeInternalFailure, tenantml.EINTERNAL, 0},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			e := authn.Errorf(tt.code, "m")
			if e.Code != tt.kind || e.AWSCode != tt.code || e.Status != tt.wantStatus {
				t.Fatalf("Errorf(%s) = {Code %s AWSCode %s Status %d}, want {%s %s %d}", tt.code, e.Code, e.AWSCode, e.Status, tt.kind, tt.code, tt.wantStatus)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("verify: %w", authn.Errorf(authn.CodeSignatureDoesNotMatch, "m"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Nil", nil, ""},
		{"Typed", authn.Errorf(authn.CodeExpiredToken, "m"), authn.CodeExpiredToken},
		{"Wrapped", wrapped, authn.CodeSignatureDoesNotMatch},
		{"Untyped", errors.New("boom"), authn.CodeInternalFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := authn.ErrorCode(tt.err); got != tt.want {
				t.Fatalf("ErrorCode() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("Unwrap", func(t *testing.T) {
		cause := errors.New("cause")
		if err := authn.Wrap("X", "m", cause); !errors.Is(err, cause) || !strings.Contains(err.Error(), "cause") {
			t.Fatalf("Error %v does not wrap its cause", err)
		}
	})
}

func TestCredential_String(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	c := &authn.Credential{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Secret: secret, Principal: &authn.Principal{ARN: "arn"}}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cred", "c", c, "v", *c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cred", "c", c)
	outputs := map[string]string{
		"String": c.String(), "v": fmt.Sprintf("%v", c), "+v": fmt.Sprintf("%+v", c), "#v": fmt.Sprintf("%#v", c),
		"slog": buf.String(),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, secret) {
				t.Fatalf("%s output leaks the secret: %s", name, out)
			}
			if !strings.Contains(out, "AKIAIOSFODNN7EXAMPLE") {
				t.Fatalf("%s output lost the access key ID: %s", name, out)
			}
		})
	}
}

type fixedSource struct{ name string }

func (f fixedSource) Credential(_ context.Context, id, _ string) (*authn.Credential, error) {
	return &authn.Credential{AccessKeyID: id, Secret: "s", Principal: &authn.Principal{ARN: f.name}}, nil
}

func TestSources_Credential(t *testing.T) {
	both := authn.Sources{LongTerm: fixedSource{"long"}, Session: fixedSource{"session"}}
	tests := []struct {
		name    string
		src     authn.Sources
		id, tok string
		want    string // principal ARN or error code
	}{
		{"LongTerm", both, "AKIAIOSFODNN7EXAMPLE", "", "long"},
		{"Session", both, "ASIAIOSFODNN7EXAMPLE", "token", "session"},
		{"ErrLongTermWithToken", both, "AKIAIOSFODNN7EXAMPLE", "token", authn.CodeInvalidClientTokenID},
		{"ErrNoSessionSource", authn.Sources{LongTerm: fixedSource{"long"}}, "ASIAIOSFODNN7EXAMPLE", "token", authn.CodeInvalidClientTokenID},
		{"ErrNoLongTermSource", authn.Sources{Session: fixedSource{"session"}}, "AKIAIOSFODNN7EXAMPLE", "", authn.CodeInvalidClientTokenID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.src.Credential(context.Background(), tt.id, tt.tok)
			got := authn.ErrorCode(err)
			if err == nil {
				got = c.Principal.ARN
			}
			if got != tt.want {
				t.Fatalf("Credential() = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}
