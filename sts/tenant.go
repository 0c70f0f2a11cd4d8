package sts

import (
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/tenant"
)

// Parties are the two tenants a new session is decided between: the tenant
// of the principal that asks for it and the tenant of the role it assumes.
type Parties struct {
	// CallerTenant is the tenant of the principal calling AssumeRole (its
	// Principal.TenantID), "" for a platform principal and for a web
	// identity, which is no principal of ours yet.
	CallerTenant string
	// RoleTenant is the assumed role's immutable TenantID, "" for a
	// platform role.
	RoleTenant string
}

// SessionTenant applies the tenant invariant — a principal of a tenant can
// never obtain credentials that act outside that tenant — and returns the
// tenant of the new session. requested is the TenantID the session's tags
// ask for (request tags, inherited transitive tags or web identity claims),
// "" if none:
//
//   - a tenant's principal never assumes another tenant's role, whatever
//     the trust policy says;
//   - a role of a tenant gives sessions of that tenant; a TenantID tag
//     asking for another is refused (it can neither change nor remove it);
//   - a platform role assumed by a tenant's principal gives a session of
//     the caller's tenant; a tag asking for another is refused;
//   - a platform role assumed by a platform principal or a web identity
//     gives a session of the requested tenant, or a platform session when
//     none is requested. Whether that caller may grant the tenant is the
//     trust and session-tag policies' business (sts:TagSession with
//     aws:RequestTag/TenantID), decided before this.
//
// The refusals name only the caller's own tenant or the role's.
func SessionTenant(p Parties, requested string) (string, error) {
	if requested != "" {
		if err := tenant.ValidateID(requested); err != nil {
			return "", errorf(CodeInvalidParameterValue, "The session tag %s must be a valid tenant ID: %s", tenant.TagKey, tenantml.ErrorMessage(err))
		}
	}
	switch {
	case p.CallerTenant != "" && p.RoleTenant != "" && p.CallerTenant != p.RoleTenant:
		return "", errorf(CodeAccessDenied, "A principal of tenant %s cannot assume a role of another tenant.", p.CallerTenant)
	case p.RoleTenant != "":
		if requested != "" && requested != p.RoleTenant {
			return "", errorf(CodeAccessDenied, "The session tag %s cannot differ from the tenant of the role (%s): a session's tenant is its role's.", tenant.TagKey, p.RoleTenant)
		}
		return p.RoleTenant, nil
	case p.CallerTenant != "":
		if requested != "" && requested != p.CallerTenant {
			return "", errorf(CodeAccessDenied, "A principal of tenant %s cannot obtain a session of another tenant.", p.CallerTenant)
		}
		return p.CallerTenant, nil
	}
	return requested, nil
}

// tenantTag returns the value of the TenantID tag in tags, the key matched
// case-insensitively as IAM matches condition keys.
func tenantTag(tags map[string]string) string {
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) {
			return v
		}
	}
	return ""
}

// withTenant returns tags with the TenantID tag set to t (or removed when t
// is ""), whatever case its key had.
func withTenant(tags map[string]string, t string) map[string]string {
	out := make(map[string]string, len(tags)+1)
	for k, v := range tags {
		if !strings.EqualFold(k, tenant.TagKey) {
			out[k] = v
		}
	}
	if t != "" {
		out[tenant.TagKey] = t
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
