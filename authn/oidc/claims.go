package oidc

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// TagsClaim is the claim AWS reads session tags from.
const TagsClaim = "https://aws.amazon.com/tags"

// identity builds the Identity of a verified token from its claims.
func (v *Verifier) identity(tok *gooidc.IDToken, claims map[string]any) (*Identity, error) {
	id := &Identity{
		Provider: v.provider,
		Issuer:   tok.Issuer,
		Subject:  tok.Subject,
		IssuedAt: tok.IssuedAt,
		Expiry:   tok.Expiry,
	}
	if id.Subject == "" {
		return nil, invalidToken("The web identity token has no sub claim.")
	}
	azp, _ := claims["azp"].(string)
	switch {
	case azp != "" && slices.Contains(v.cfg.ClientIDs, azp):
		id.Audience = azp
	case azp == "":
		for _, aud := range tok.Audience {
			if slices.Contains(v.cfg.ClientIDs, aud) {
				id.Audience = aud
				break
			}
		}
	}
	if id.Audience == "" {
		return nil, invalidToken("Incorrect token audience: the token is not for a client ID of provider %s.", v.provider)
	}

	p := v.provider + ":"
	id.Conditions = map[string][]string{
		p + "aud": {id.Audience},
		p + "sub": {id.Subject},
	}
	if azp != "" {
		id.Conditions[p+"oaud"] = slices.Clone(tok.Audience)
	}
	if amr, err := stringList(claims["amr"]); err != nil {
		return nil, invalidToken("The amr claim must be a string or a list of strings.")
	} else if len(amr) > 0 {
		id.Conditions[p+"amr"] = amr
	}

	tags, transitive, err := awsTags(claims[TagsClaim])
	if err != nil {
		return nil, err
	}
	for _, claim := range slices.Sorted(maps.Keys(v.cfg.ClaimTags)) {
		raw, ok := claims[claim]
		if !ok {
			continue
		}
		val, err := scalar(raw)
		if err != nil {
			return nil, invalidToken("The claim %q mapped to a session tag must be a string or a number.", claim)
		}
		tag := v.cfg.ClaimTags[claim]
		for k, existing := range tags {
			if strings.EqualFold(k, tag) && (k != tag || existing != val) {
				return nil, invalidToken("The claim %q and the %s claim disagree on session tag %q.", claim, TagsClaim, tag)
			}
		}
		tags[tag] = val
		if slices.ContainsFunc(v.cfg.TransitiveClaimTags, func(k string) bool { return strings.EqualFold(k, tag) }) &&
			!slices.Contains(transitive, tag) {
			transitive = append(transitive, tag)
		}
	}
	if len(tags) > 0 {
		id.Tags = tags
	}
	id.TransitiveTagKeys = transitive
	return id, nil
}

// awsTags parses the https://aws.amazon.com/tags claim.
func awsTags(raw any) (map[string]string, []string, error) {
	tags := map[string]string{}
	if raw == nil {
		return tags, nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, nil, invalidToken("The %s claim is malformed.", TagsClaim)
	}
	var c struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, nil, invalidToken("The %s claim must hold principal_tags (tag → [value]) and transitive_tag_keys ([key]).", TagsClaim)
	}
	for k, vals := range c.PrincipalTags {
		if len(vals) != 1 {
			return nil, nil, invalidToken("Session tag %q in the %s claim must have exactly one value.", k, TagsClaim)
		}
		tags[k] = vals[0]
	}
	for _, k := range c.TransitiveTagKeys {
		if _, ok := tags[k]; !ok {
			return nil, nil, invalidToken("Transitive tag key %q in the %s claim is not a principal tag.", k, TagsClaim)
		}
	}
	return tags, c.TransitiveTagKeys, nil
}

func stringList(raw any) ([]string, error) {
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("not a string: %T", e)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("not a string list: %T", raw)
	}
}

func scalar(raw any) (string, error) {
	switch v := raw.(type) {
	case string:
		return v, nil
	case float64:
		return json.Number(fmt.Sprint(v)).String(), nil
	case bool:
		return fmt.Sprint(v), nil
	default:
		return "", fmt.Errorf("not a scalar: %T", raw)
	}
}
