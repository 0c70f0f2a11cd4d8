package identity_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
)

func TestError_Unwrap(t *testing.T) {
	for code, root := range map[string]string{
		identity.NoSuchEntity:            tenantml.ENOTFOUND,
		identity.EntityAlreadyExists:     tenantml.ECONFLICT,
		identity.LimitExceeded:           tenantml.ECONFLICT,
		identity.DeleteConflict:          tenantml.ECONFLICT,
		identity.MalformedPolicyDocument: tenantml.EINVALID,
		identity.ValidationError:         tenantml.EINVALID,
		identity.InvalidInput:            tenantml.EINVALID,
		"Unknown":                        tenantml.EINTERNAL,
	} {
		t.Run(code, func(t *testing.T) {
			err := error(identity.Errorf(code, "thing %s", "x"))
			if got := tenantml.ErrorCode(err); got != root {
				t.Fatalf("ErrorCode = %s, want %s", got, root)
			}
			if root != tenantml.EINTERNAL && tenantml.ErrorMessage(err) != "thing x" {
				t.Fatalf("ErrorMessage = %q", tenantml.ErrorMessage(err))
			}
			if tenantml.AWSCodeOf(err) != code || err.Error() != code+": thing x" {
				t.Fatalf("error = %v", err)
			}
		})
	}
}

func code(err error) string {
	if c := tenantml.AWSCodeOf(err); c != "" {
		return c
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestValidateName(t *testing.T) {
	for _, c := range []struct {
		name string
		max  int
		want string
	}{
		{"alice", 64, ""},
		{"a+b=c,d.e@f_g-h", 64, ""},
		{strings.Repeat("x", 64), 64, ""},
		{strings.Repeat("x", 65), 64, identity.ValidationError},
		{strings.Repeat("x", 128), 128, ""},
		{"", 64, identity.ValidationError},
		{"has space", 64, identity.ValidationError},
		{"slash/no", 64, identity.ValidationError},
		{"ünïcode", 64, identity.ValidationError},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := code(identity.ValidateName("user", c.name, c.max)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestValidatePath(t *testing.T) {
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"/", true}, {"/a/", true}, {"/a/b-c/", true}, {"/a~!/", true},
		{"", false}, {"a/", false}, {"/a", false}, {"/a b/", false}, {"/" + strings.Repeat("a", 511) + "/", false},
		{"/" + strings.Repeat("a", 510) + "/", true},
	} {
		t.Run(c.path, func(t *testing.T) {
			if err := identity.ValidatePath(c.path); (err == nil) != c.ok {
				t.Fatalf("ValidatePath(%q) = %v, want ok=%v", c.path, err, c.ok)
			}
		})
	}
}

func TestValidateTags(t *testing.T) {
	many := map[string]string{}
	for i := range 51 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, c := range []struct {
		name string
		tags map[string]string
		want string
	}{
		{"OK", map[string]string{"TenantID": "acme", "a b:c/d=e+f-g@h_i.": ""}, ""},
		{"Nil", nil, ""},
		{"TooMany", many, identity.LimitExceeded},
		{"EmptyKey", map[string]string{"": "v"}, identity.InvalidInput},
		{"LongKey", map[string]string{strings.Repeat("k", 129): "v"}, identity.InvalidInput},
		{"LongValue", map[string]string{"k": strings.Repeat("v", 257)}, identity.InvalidInput},
		{"Reserved", map[string]string{"AWS:thing": "v"}, identity.InvalidInput},
		{"BadChar", map[string]string{"k": "v;"}, identity.InvalidInput},
		{"CaseDuplicate", map[string]string{"Team": "a", "team": "b"}, identity.InvalidInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := code(identity.ValidateTags(c.tags)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestMergeTags(t *testing.T) {
	cur := map[string]string{"TenantID": "acme", "Team": "a"}
	t.Run("OK", func(t *testing.T) {
		got, err := identity.MergeTags(cur, map[string]string{"team": "b", "env": "prod"}, []string{"ENV"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["team"] != "b" || got["TenantID"] != "acme" {
			t.Fatalf("merged = %v", got)
		}
		if cur["Team"] != "a" {
			t.Fatal("MergeTags modified its input")
		}
	})
	for name, c := range map[string]struct {
		set    map[string]string
		remove []string
	}{
		"ChangeTenant":   {set: map[string]string{"tenantid": "globex"}},
		"RemoveTenant":   {remove: []string{"TenantID"}},
		"AddTenantLater": {},
	} {
		t.Run("Err"+name, func(t *testing.T) {
			base := cur
			if name == "AddTenantLater" {
				base, c.set = map[string]string{}, map[string]string{"TenantID": "acme"}
			}
			if _, err := identity.MergeTags(base, c.set, c.remove); code(err) != identity.InvalidInput {
				t.Fatalf("err = %v, want InvalidInput", err)
			}
		})
	}
}

func TestValidateDocument(t *testing.T) {
	idDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}`
	huge := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:` + strings.Repeat("x", 11000) + `","Resource":"*"}]}`
	for _, c := range []struct {
		name, purpose, doc, want string
	}{
		{"InlineOK", identity.DocInline, idDoc, ""},
		{"ManagedOK", identity.DocManaged, idDoc, ""},
		{"TrustOK", identity.DocTrust, trust, ""},
		{"TrustWithoutPrincipal", identity.DocTrust, idDoc, identity.MalformedPolicyDocument},
		{"IdentityWithPrincipal", identity.DocInline, trust, identity.MalformedPolicyDocument},
		{"Empty", identity.DocInline, "", identity.MalformedPolicyDocument},
		{"NotJSON", identity.DocManaged, "{", identity.MalformedPolicyDocument},
		{"TooLarge", identity.DocInline, huge, identity.LimitExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := code(identity.ValidateDocument(c.purpose, c.doc)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestParsePolicyARN(t *testing.T) {
	for _, c := range []struct {
		arn, acct, path, name string
		ok                    bool
	}{
		{"arn:aws:iam::111122223333:policy/P", "111122223333", "/", "P", true},
		{"arn:aws:iam::111122223333:policy/a/b/P", "111122223333", "/a/b/", "P", true},
		{"arn:aws:iam::aws:policy/tenantml/Viewer", "aws", "/tenantml/", "Viewer", true},
		{"arn:aws:iam::111122223333:role/P", "", "", "", false},
		{"arn:aws:iam::1111:policy/P", "", "", "", false},
		{"arn:aws:iam::111122223333:policy/", "", "", "", false},
		{"", "", "", "", false},
	} {
		t.Run(c.arn, func(t *testing.T) {
			acct, path, name, err := identity.ParsePolicyARN(c.arn)
			if (err == nil) != c.ok || acct != c.acct || path != c.path || name != c.name {
				t.Fatalf("= %q %q %q %v", acct, path, name, err)
			}
		})
	}
}

func TestNormalizeIssuer(t *testing.T) {
	for _, c := range []struct{ in, issuer, hostPath string }{
		{"https://idp.example.com", "https://idp.example.com", "idp.example.com"},
		{"https://idp.example.com/", "https://idp.example.com", "idp.example.com"},
		{"https://idp.example.com:8443/realms/x", "https://idp.example.com:8443/realms/x", "idp.example.com:8443/realms/x"},
		{"http://idp.example.com", "", ""},
		{"https://idp.example.com?x=1", "", ""},
		{"https://user@idp.example.com", "", ""},
		{"https:///path", "", ""},
		{"not a url", "", ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			issuer, hp, err := identity.NormalizeIssuer(c.in)
			if issuer != c.issuer || hp != c.hostPath || (err == nil) != (c.issuer != "") {
				t.Fatalf("= %q %q %v", issuer, hp, err)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		id, err := identity.NewID(identity.PrefixUser, bytes.NewReader(make([]byte, 10)))
		if err != nil || id != "AIDAAAAAAAAAAAAAAAAA" {
			t.Fatalf("= %q %v", id, err)
		}
	})
	t.Run("ErrRandom", func(t *testing.T) {
		if _, err := identity.NewID(identity.PrefixUser, iotest.ErrReader(errors.New("no entropy"))); err == nil {
			t.Fatal("NewID succeeded without randomness")
		}
	})
}

func TestRole_Prepare(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	r := &identity.Role{Name: "R", AssumeRolePolicyDocument: trust, Tags: map[string]string{"tenantid": "acme"}}
	if err := r.Prepare("111122223333", bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)), now); err != nil {
		t.Fatal(err)
	}
	if r.Path != "/" || r.ID != "AROA7777777777777777" || r.ARN != "arn:aws:iam::111122223333:role/R" || r.TenantID != "acme" ||
		r.MaxSessionDuration != 3600 || r.CreatedAt.Location() != time.UTC || !r.CreatedAt.Equal(now) {
		t.Fatalf("prepared = %+v", r)
	}
}

func TestOIDCProvider_Prepare(t *testing.T) {
	for _, c := range []struct {
		name string
		p    identity.OIDCProvider
		want string
	}{
		{"OK", identity.OIDCProvider{URL: "https://idp.example.com/", ClientIDs: []string{"c"}, Thumbprints: []string{strings.Repeat("a", 40)}, ClaimTags: map[string]string{"tenant_id": "TenantID"}}, ""},
		{"BadThumbprint", identity.OIDCProvider{URL: "https://idp.example.com", Thumbprints: []string{"zz"}}, identity.ValidationError},
		{"TooManyThumbprints", identity.OIDCProvider{URL: "https://idp.example.com", Thumbprints: make([]string, 6)}, identity.LimitExceeded},
		{"EmptyClientID", identity.OIDCProvider{URL: "https://idp.example.com", ClientIDs: []string{""}}, identity.ValidationError},
		{"ReservedTagKey", identity.OIDCProvider{URL: "https://idp.example.com", ClaimTags: map[string]string{"c": "aws:x"}}, identity.ValidationError},
		{"EmptyClaim", identity.OIDCProvider{URL: "https://idp.example.com", ClaimTags: map[string]string{"": "k"}}, identity.ValidationError},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := c.p
			if got := code(p.Prepare("111122223333", time.Unix(0, 0))); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			if c.want == "" && p.ARN != "arn:aws:iam::111122223333:oidc-provider/idp.example.com" {
				t.Fatalf("ARN = %s", p.ARN)
			}
		})
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::111122223333:policy/a/P", "https://idp.example.com/x", "/a/b/", "alice", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _, _ = identity.ParsePolicyARN(s)
		_, _, _ = identity.NormalizeIssuer(s)
		_ = identity.ValidatePath(s)
		_ = identity.ValidateName("user", s, 64)
		_ = identity.ValidateTags(map[string]string{s: s})
		_ = identity.ValidateDocument(identity.DocTrust, s)
	})
}

func TestPrepare_Nil(t *testing.T) {
	r := bytes.NewReader(make([]byte, 100))
	now := time.Unix(0, 0)
	for name, err := range map[string]error{
		"User":         (*identity.User)(nil).Prepare("111122223333", r, now),
		"Group":        (*identity.Group)(nil).Prepare("111122223333", r, now),
		"Role":         (*identity.Role)(nil).Prepare("111122223333", r, now),
		"Policy":       (*identity.Policy)(nil).Prepare("111122223333", "{}", r, now),
		"AccessKey":    (*identity.AccessKey)(nil).Prepare("111122223333", r, now),
		"OIDCProvider": (*identity.OIDCProvider)(nil).Prepare("111122223333", now),
	} {
		t.Run(name, func(t *testing.T) {
			if code(err) != identity.InvalidInput {
				t.Fatalf("nil %s: %v, want InvalidInput", name, err)
			}
		})
	}
}
