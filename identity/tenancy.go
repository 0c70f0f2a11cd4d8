package identity

import (
	"strings"

	"github.com/tenantml/tenantml/tenant"
)

// TenantNameSeparator separates a tenant's ID from the rest of the names of
// the users, roles, groups and policies its principals create: acme's are
// "acme.<name>". A tenant ID never contains a '.', so every name belongs
// to at most one tenant's name space.
const TenantNameSeparator = "."

// CheckTenantName refuses a name a principal of tenant t may not create:
// names are unique in an account, so a principal of a tenant creates only
// names of its own name space ("<t>.<name>"), where a name taken can only
// be taken by its own tenant. The refusal is the same whether or not the
// name exists elsewhere.
func CheckTenantName(t, name string) error {
	if t == "" || name == "" {
		return nil
	}
	prefix := t + TenantNameSeparator
	if len(name) <= len(prefix) || !strings.EqualFold(name[:len(prefix)], prefix) {
		return Errorf(ValidationError, "names created by principals of tenant %s must begin with %q (IAM names are unique in the account; each tenant has its own name space)", t, prefix)
	}
	return nil
}

// CheckTenantTag refuses the tags of an entity a principal of tenant t
// creates unless they carry t as the TenantID tag (its key in any case):
// an entity's tenant is fixed at creation, and a tenant's principal
// creates only entities of its own tenant — never an untagged (platform)
// entity, never another tenant's. The refusal names only t.
func CheckTenantTag(t string, tags map[string]string) error {
	if t == "" || TenantOf(tags) == t {
		return nil
	}
	return Errorf(InvalidInput, "entities created by principals of tenant %s must be tagged %s=%s", t, tenant.TagKey, t)
}

// tenantGrantable reports the built-in policies a principal of a tenant
// may hold: the tenant roles and the boundary. PlatformAdministrator is not
// among them.
func tenantGrantable(name string) bool {
	switch name {
	case "TenantAdmin", "DataScientist", "Viewer", "TenantRoleBoundary":
		return true
	}
	return false
}

// CheckAttachable refuses to let a principal of tenant holder hold policy p
// (attached or as its permissions boundary) when that would give it more
// than its tenant: a built-in policy other than the tenant roles and the
// boundary (PlatformAdministrator), or a customer-managed policy of another
// tenant. A customer-managed policy with no tenant (written by the
// operator for several tenants, such as a shared invoke policy) may be
// given to a tenant's principal only by a platform principal (attacher
// ""). Platform principals (holder "") may hold anything.
func CheckAttachable(holder, attacher string, p *Policy) error {
	if holder == "" {
		return nil
	}
	if p.AccountID == BuiltinAccount {
		if tenantGrantable(p.Name) {
			return nil
		}
		return Errorf(InvalidInput, "policy %s is a platform policy: it cannot be given to a principal of tenant %s", p.ARN, holder)
	}
	switch {
	case p.TenantID == holder:
		return nil
	case p.TenantID != "":
		return Errorf(InvalidInput, "policy %s belongs to another tenant: a principal of tenant %s can hold only its tenant's policies", p.ARN, holder)
	case attacher != "":
		return Errorf(InvalidInput, "policy %s has no tenant: only the platform can give it to a principal of tenant %s", p.ARN, holder)
	}
	return nil
}
