package iam

import (
	"context"
	"net/url"
	"sort"
	"strings"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
)

// ClaimTagPrefix is the tag key prefix that configures tenantml's
// claim-to-session-tag mapping on an OpenID Connect provider, since the AWS
// API has no field for it: the tag "tenantml:claim-tag:tenant_id" with the
// value "TenantID" makes the token claim tenant_id the session tag TenantID
// in AssumeRoleWithWebIdentity. Such tags are stored as the provider's claim
// mapping, not as tags, and GetOpenIDConnectProvider returns them as tags
// again.
const ClaimTagPrefix = "tenantml:claim-tag:"

func (s *Surface) registerOIDC(add func(string, resourceFunc, handler)) {
	add("CreateOpenIDConnectProvider", s.oidcURLARN, s.createOIDCProvider)
	add("GetOpenIDConnectProvider", oidcARNParam, s.getOIDCProvider)
	add("DeleteOpenIDConnectProvider", oidcARNParam, s.deleteOIDCProvider)
	add("ListOpenIDConnectProviders", func(_ url.Values, c *authn.Principal) string {
		return arn.New("iam", "", s.account(c), "oidc-provider/*").String()
	}, s.listOIDCProviders)
}

func oidcARNParam(f url.Values, _ *authn.Principal) string { return f.Get("OpenIDConnectProviderArn") }

// oidcURLARN is the ARN a provider with the Url parameter will have.
func (s *Surface) oidcURLARN(f url.Values, c *authn.Principal) string {
	_, hostPath, err := identity.NormalizeIssuer(f.Get("Url"))
	if err != nil {
		return arn.New("iam", "", s.account(c), "oidc-provider/*").String()
	}
	return arn.New("iam", "", s.account(c), "oidc-provider/"+hostPath).String()
}

// splitClaimTags separates the claim mapping (ClaimTagPrefix tags) from
// the provider's ordinary tags.
func splitClaimTags(all map[string]string) (tags, claims map[string]string) {
	for k, v := range all {
		if claim, ok := strings.CutPrefix(k, ClaimTagPrefix); ok {
			if claims == nil {
				claims = map[string]string{}
			}
			claims[claim] = v
			continue
		}
		if tags == nil {
			tags = map[string]string{}
		}
		tags[k] = v
	}
	return tags, claims
}

// CreateOpenIDConnectProviderResult is the result of
// CreateOpenIDConnectProvider.
type CreateOpenIDConnectProviderResult struct {
	OpenIDConnectProviderArn string   `xml:"OpenIDConnectProviderArn"`
	Tags                     []xmlTag `xml:"Tags>member,omitempty"`
}

func (s *Surface) createOIDCProvider(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
	if err := required(f, "Url"); err != nil {
		return nil, err
	}
	tags, claims := splitClaimTags(api.FormTags(f))
	p := &identity.OIDCProvider{URL: f.Get("Url"), ClientIDs: api.FormList(f, "ClientIDList"),
		Thumbprints: api.FormList(f, "ThumbprintList"), ClaimTags: claims, Tags: tags}
	if err := s.Service.CreateOpenIDConnectProvider(ctx, s.account(c), p); err != nil {
		return nil, err
	}
	return CreateOpenIDConnectProviderResult{OpenIDConnectProviderArn: p.ARN, Tags: tagList(providerTags(p))}, nil
}

// providerTags are p's tags with its claim mapping as ClaimTagPrefix tags.
func providerTags(p *identity.OIDCProvider) map[string]string {
	out := make(map[string]string, len(p.Tags)+len(p.ClaimTags))
	for k, v := range p.Tags {
		out[k] = v
	}
	for claim, tag := range p.ClaimTags {
		out[ClaimTagPrefix+claim] = tag
	}
	return out
}

// GetOpenIDConnectProviderResult is the result of GetOpenIDConnectProvider.
type GetOpenIDConnectProviderResult struct {
	URL            string   `xml:"Url"`
	ClientIDList   []string `xml:"ClientIDList>member"`
	ThumbprintList []string `xml:"ThumbprintList>member"`
	CreateDate     string   `xml:"CreateDate"`
	Tags           []xmlTag `xml:"Tags>member,omitempty"`
}

func (s *Surface) getOIDCProvider(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
	if err := required(f, "OpenIDConnectProviderArn"); err != nil {
		return nil, err
	}
	p, err := s.Service.GetOpenIDConnectProvider(ctx, s.account(c), f.Get("OpenIDConnectProviderArn"))
	if err != nil {
		return nil, err
	}
	// AWS reports the URL without its scheme.
	return GetOpenIDConnectProviderResult{URL: strings.TrimPrefix(p.URL, "https://"), ClientIDList: p.ClientIDs,
		ThumbprintList: p.Thumbprints, CreateDate: isoTime(p.CreatedAt), Tags: tagList(providerTags(p))}, nil
}

func (s *Surface) deleteOIDCProvider(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
	if err := required(f, "OpenIDConnectProviderArn"); err != nil {
		return nil, err
	}
	return nil, s.Service.DeleteOpenIDConnectProvider(ctx, s.account(c), f.Get("OpenIDConnectProviderArn"))
}

// ListOpenIDConnectProvidersResult is the result of
// ListOpenIDConnectProviders.
type ListOpenIDConnectProvidersResult struct {
	Providers []xmlProviderEntry `xml:"OpenIDConnectProviderList>member"`
}

type xmlProviderEntry struct {
	Arn string `xml:"Arn"`
}

func (s *Surface) listOIDCProviders(ctx context.Context, _ url.Values, c *authn.Principal) (any, error) {
	ps, err := s.Service.ListOpenIDConnectProviders(ctx, s.account(c))
	if err != nil {
		return nil, err
	}
	out := ListOpenIDConnectProvidersResult{Providers: []xmlProviderEntry{}}
	for _, p := range ps {
		if c.TenantID != "" && p.TenantID != c.TenantID {
			continue // a tenant's principal lists only its tenant's
		}
		out.Providers = append(out.Providers, xmlProviderEntry{Arn: p.ARN})
	}
	sort.Slice(out.Providers, func(i, j int) bool { return out.Providers[i].Arn < out.Providers[j].Arn })
	return out, nil
}
