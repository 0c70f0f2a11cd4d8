package iam

import (
	"context"
	"net/url"
	"strconv"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
)

// xmlPolicy is IAM's Policy element.
type xmlPolicy struct {
	PolicyName                    string   `xml:"PolicyName"`
	PolicyID                      string   `xml:"PolicyId"`
	Arn                           string   `xml:"Arn"`
	Path                          string   `xml:"Path"`
	DefaultVersionID              string   `xml:"DefaultVersionId"`
	AttachmentCount               int      `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int      `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool     `xml:"IsAttachable"`
	Description                   string   `xml:"Description,omitempty"`
	CreateDate                    string   `xml:"CreateDate"`
	UpdateDate                    string   `xml:"UpdateDate"`
	Tags                          []xmlTag `xml:"Tags>member,omitempty"`
}

func toXMLPolicy(p *identity.Policy) xmlPolicy {
	updated := p.UpdatedAt
	if updated.IsZero() {
		updated = p.CreatedAt
	}
	return xmlPolicy{PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN, Path: p.Path, DefaultVersionID: p.DefaultVersionID,
		AttachmentCount: p.AttachmentCount, PermissionsBoundaryUsageCount: p.BoundaryUsageCount, IsAttachable: true,
		Description: p.Description, CreateDate: isoTime(p.CreatedAt), UpdateDate: isoTime(updated), Tags: tagList(p.Tags)}
}

type policyResult struct {
	Policy xmlPolicy `xml:"Policy"`
}

type listPoliciesResult struct {
	Policies    []xmlPolicy `xml:"Policies>member"`
	IsTruncated bool        `xml:"IsTruncated"`
	Marker      string      `xml:"Marker,omitempty"`
}

// xmlPolicyVersion is IAM's PolicyVersion element.
type xmlPolicyVersion struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type policyVersionResult struct {
	PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
}

type xmlAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedResult struct {
	AttachedPolicies []xmlAttachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool                `xml:"IsTruncated"`
	Marker           string              `xml:"Marker,omitempty"`
}

func (s *Surface) policyARN(f url.Values, c *authn.Principal) string {
	return s.entityARN(s.account(c), "policy", f.Get("Path"), f.Get("PolicyName"))
}

func (s *Surface) registerPolicies(add func(string, resourceFunc, handler)) {
	acctWide := func(_ url.Values, c *authn.Principal) string {
		return arn.New("iam", "", s.account(c), "policy/").String()
	}
	add("CreatePolicy", s.policyARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyName", "PolicyDocument"); err != nil {
			return nil, err
		}
		p := &identity.Policy{Name: f.Get("PolicyName"), Path: f.Get("Path"), Description: f.Get("Description"), Tags: api.FormTags(f)}
		if err := s.Service.CreatePolicy(ctx, s.account(c), p, f.Get("PolicyDocument")); err != nil {
			return nil, err
		}
		return policyResult{Policy: toXMLPolicy(p)}, nil
	})
	add("GetPolicy", policyARNParam, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyArn"); err != nil {
			return nil, err
		}
		p, err := s.Service.GetPolicy(ctx, s.account(c), f.Get("PolicyArn"))
		if err != nil {
			return nil, err
		}
		return policyResult{Policy: toXMLPolicy(p)}, nil
	})
	add("ListPolicies", acctWide, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		lo, err := listOptions(f, c)
		if err != nil {
			return nil, err
		}
		opt := identity.PolicyListOptions{ListOptions: lo, Scope: f.Get("Scope"), OnlyAttached: f.Get("OnlyAttached") == "true"}
		ps, next, err := s.Service.ListPolicies(ctx, s.account(c), opt)
		if err != nil {
			return nil, err
		}
		res := listPoliciesResult{IsTruncated: next != "", Marker: next, Policies: []xmlPolicy{}}
		for _, p := range ps {
			res.Policies = append(res.Policies, toXMLPolicy(p))
		}
		return res, nil
	})
	add("DeletePolicy", policyARNParam, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyArn"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeletePolicy(ctx, s.account(c), f.Get("PolicyArn"))
	})
	add("CreatePolicyVersion", policyARNParam, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyArn", "PolicyDocument"); err != nil {
			return nil, err
		}
		v, err := s.Service.CreatePolicyVersion(ctx, s.account(c), f.Get("PolicyArn"), f.Get("PolicyDocument"), f.Get("SetAsDefault") == "true")
		if err != nil {
			return nil, err
		}
		return policyVersionResult{PolicyVersion: xmlPolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}}, nil
	})
	add("GetPolicyVersion", policyARNParam, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyArn", "VersionId"); err != nil {
			return nil, err
		}
		v, err := s.Service.GetPolicyVersion(ctx, s.account(c), f.Get("PolicyArn"), f.Get("VersionId"))
		if err != nil {
			return nil, err
		}
		return policyVersionResult{PolicyVersion: xmlPolicyVersion{Document: encodeDocument(v.Document), VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}}, nil
	})
	add("SetDefaultPolicyVersion", policyARNParam, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyArn", "VersionId"); err != nil {
			return nil, err
		}
		return nil, s.Service.SetDefaultPolicyVersion(ctx, s.account(c), f.Get("PolicyArn"), f.Get("VersionId"))
	})
	attach := func(kind identity.Kind, param string, detach bool) handler {
		return func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
			if err := required(f, param, "PolicyArn"); err != nil {
				return nil, err
			}
			ref := identity.Ref{Kind: kind, Name: f.Get(param)}
			if detach {
				return nil, s.Service.DetachPolicy(ctx, s.account(c), ref, f.Get("PolicyArn"))
			}
			return nil, s.Service.AttachPolicy(ctx, s.account(c), ref, f.Get("PolicyArn"))
		}
	}
	add("AttachRolePolicy", s.roleARN, attach(identity.KindRole, "RoleName", false))
	add("DetachRolePolicy", s.roleARN, attach(identity.KindRole, "RoleName", true))
	add("AttachUserPolicy", s.userARN, attach(identity.KindUser, "UserName", false))
	add("DetachUserPolicy", s.userARN, attach(identity.KindUser, "UserName", true))
	add("ListAttachedRolePolicies", s.roleARN, s.listAttached("RoleName", roleRef))
}

type listPolicyVersionsResult struct {
	Versions    []xmlPolicyVersion `xml:"Versions>member"`
	IsTruncated bool               `xml:"IsTruncated"`
}

// registerPolicyExtras adds ListPolicyVersions, DeletePolicyVersion and
// UpdateRole.
func (s *Surface) registerPolicyExtras(add func(string, resourceFunc, handler)) {
	add("ListPolicyVersions", policyARNParam, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyArn"); err != nil {
			return nil, err
		}
		vs, err := s.Service.ListPolicyVersions(ctx, s.account(c), f.Get("PolicyArn"))
		if err != nil {
			return nil, err
		}
		res := listPolicyVersionsResult{Versions: []xmlPolicyVersion{}}
		for _, v := range vs {
			res.Versions = append(res.Versions, xmlPolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)})
		}
		return res, nil
	})
	add("DeletePolicyVersion", policyARNParam, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyArn", "VersionId"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeletePolicyVersion(ctx, s.account(c), f.Get("PolicyArn"), f.Get("VersionId"))
	})
	add("UpdateRole", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName"); err != nil {
			return nil, err
		}
		maxSession := 0
		if d := f.Get("MaxSessionDuration"); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil {
				return nil, identity.Errorf(identity.ValidationError, "MaxSessionDuration must be a number of seconds")
			}
			maxSession = n
		}
		return nil, s.Service.UpdateRole(ctx, s.account(c), f.Get("RoleName"), f.Get("Description"), maxSession)
	})
}

// listAttached answers ListAttached{Role,User}Policies: the managed
// policies attached to the entity named by the nameParam parameter.
func (s *Surface) listAttached(nameParam string, ref func(url.Values) identity.Ref) func(context.Context, url.Values, *authn.Principal) (any, error) {
	return func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, nameParam); err != nil {
			return nil, err
		}
		opt, err := listOptions(f, nil)
		if err != nil {
			return nil, err
		}
		ps, next, err := s.Service.ListAttachedPolicies(ctx, s.account(c), ref(f), opt)
		if err != nil {
			return nil, err
		}
		res := listAttachedResult{IsTruncated: next != "", Marker: next, AttachedPolicies: []xmlAttachedPolicy{}}
		for _, p := range ps {
			res.AttachedPolicies = append(res.AttachedPolicies, xmlAttachedPolicy{PolicyName: p.PolicyName, PolicyArn: p.PolicyARN})
		}
		return res, nil
	}
}
