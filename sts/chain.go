package sts

import (
	"strings"

	"github.com/tenantml/tenantml/authn"
)

// Chain is what a new role session inherits from the principal that calls
// AssumeRole: feed Chained to SessionDuration, TransitiveTags to
// TagInput.Inherited and SourceIdentity to SourceIdentity.
type Chain struct {
	// Chained reports that the caller signed with role-session
	// credentials, so the 1-hour role chaining limit applies.
	Chained bool
	// TransitiveTags are the caller's transitive session tags.
	TransitiveTags map[string]string
	// SourceIdentity is the caller's source identity, "" if none.
	SourceIdentity string
}

// ChainFrom returns what a session assumed by p inherits. Long-term
// credentials (root, IAM users) pass nothing on.
func ChainFrom(p *authn.Principal) Chain {
	if p == nil || p.Session == nil {
		return Chain{}
	}
	c := Chain{Chained: true, SourceIdentity: p.Session.SourceIdentity}
	for _, k := range p.Session.TransitiveTagKeys {
		for tk, v := range p.Tags {
			if strings.EqualFold(tk, k) {
				if c.TransitiveTags == nil {
					c.TransitiveTags = map[string]string{}
				}
				c.TransitiveTags[tk] = v
			}
		}
	}
	return c
}
