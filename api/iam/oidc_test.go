package iam_test

import (
	"strings"
	"testing"
)

func TestSurface_OpenIDConnectProviders(t *testing.T) {
	f := newFixture(t)
	arn := "arn:aws:iam::" + acct + ":oidc-provider/idp.example.com/tenants"
	thumb := strings.Repeat("ab", 20)
	steps := []struct {
		name   string
		params []string
		status int
		want   []string // substrings of the body
	}{
		{"Create", []string{"Action", "CreateOpenIDConnectProvider", "Url", "https://idp.example.com/tenants/", "ClientIDList.member.1", "app",
			"ThumbprintList.member.1", thumb, "Tags.member.1.Key", "tenantml:claim-tag:tenant_id", "Tags.member.1.Value", "TenantID",
			"Tags.member.2.Key", "team", "Tags.member.2.Value", "ml"}, 200,
			[]string{"<OpenIDConnectProviderArn>" + arn + "</OpenIDConnectProviderArn>", "<Key>tenantml:claim-tag:tenant_id</Key><Value>TenantID</Value>"}},
		{"ErrCreateTwice", []string{"Action", "CreateOpenIDConnectProvider", "Url", "https://idp.example.com/tenants", "ClientIDList.member.1", "app"}, 409, []string{"<Code>EntityAlreadyExists</Code>"}},
		{"ErrCreateMissingURL", []string{"Action", "CreateOpenIDConnectProvider", "ClientIDList.member.1", "app"}, 400, []string{"<Code>ValidationError</Code>", "url"}},
		{"ErrCreatePlainHTTP", []string{"Action", "CreateOpenIDConnectProvider", "Url", "http://idp.example.com"}, 400, []string{"<Code>ValidationError</Code>"}},
		{"ErrCreateBadThumbprint", []string{"Action", "CreateOpenIDConnectProvider", "Url", "https://other.example.com", "ThumbprintList.member.1", "zz"}, 400, []string{"<Code>ValidationError</Code>"}},
		{"ErrCreateReservedClaimTag", []string{"Action", "CreateOpenIDConnectProvider", "Url", "https://other.example.com",
			"Tags.member.1.Key", "tenantml:claim-tag:tenant_id", "Tags.member.1.Value", "aws:TenantID"}, 400, []string{"<Code>ValidationError</Code>"}},
		{"Get", []string{"Action", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", arn}, 200,
			[]string{"<Url>idp.example.com/tenants</Url>", "<ClientIDList><member>app</member></ClientIDList>", "<ThumbprintList><member>" + thumb + "</member>",
				"<Key>tenantml:claim-tag:tenant_id</Key><Value>TenantID</Value>", "<Key>team</Key><Value>ml</Value>", "<CreateDate>"}},
		{"ErrGetMissing", []string{"Action", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", arn + "x"}, 404, []string{"<Code>NoSuchEntity</Code>"}},
		{"ErrGetNoARN", []string{"Action", "GetOpenIDConnectProvider"}, 400, []string{"<Code>ValidationError</Code>"}},
		{"List", []string{"Action", "ListOpenIDConnectProviders"}, 200, []string{"<OpenIDConnectProviderList><member><Arn>" + arn + "</Arn></member></OpenIDConnectProviderList>"}},
		{"Delete", []string{"Action", "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", arn}, 200, []string{"<DeleteOpenIDConnectProviderResponse"}},
		{"ErrDeleteTwice", []string{"Action", "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", arn}, 404, []string{"<Code>NoSuchEntity</Code>"}},
		{"ListEmpty", []string{"Action", "ListOpenIDConnectProviders"}, 200, []string{"<ListOpenIDConnectProvidersResult><OpenIDConnectProviderList></OpenIDConnectProviderList>"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			status, body := f.call(t, s.params...)
			if status != s.status {
				t.Fatalf("status %d, want %d: %s", status, s.status, body)
			}
			for _, w := range s.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q: %s", w, body)
				}
			}
		})
	}
	t.Run("AuditedWithProviderARN", func(t *testing.T) {
		want := "iam:CreateOpenIDConnectProvider " + arn
		for _, r := range f.audit.resources {
			if r == want {
				return
			}
		}
		t.Errorf("no audit record %q in %v", want, f.audit.resources)
	})
}
