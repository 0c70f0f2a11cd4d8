package identity

import (
	"embed"
	"sort"
	"strings"
	"time"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// BuiltinARNPrefix starts the ARN of every built-in managed policy.
const BuiltinARNPrefix = "arn:aws:iam::aws:policy/tenantml/"

// BuiltinAccount is the account field of built-in policy ARNs.
const BuiltinAccount = "aws"

// Names of the built-in managed policies.
const (
	PlatformAdministrator = "PlatformAdministrator"
	TenantAdmin           = "TenantAdmin"
	DataScientist         = "DataScientist"
	Viewer                = "Viewer"
	TenantRoleBoundary    = "TenantRoleBoundary"
)

// builtinDescriptions lists the built-in policies (sorted by name) and
// their descriptions.
func builtinDescriptions() [][2]string {
	return [][2]string{
		{DataScientist, "Build, deploy and invoke models and endpoints of the caller's own tenant (aws:PrincipalTag/TenantID)."},
		{PlatformAdministrator, "Full access to every action and resource; the platform operator."},
		{TenantAdmin, "Administer the caller's own tenant: its principals, policies, models, endpoints and keys."},
		{TenantRoleBoundary, "Permissions boundary for tenant-created users and roles: own-tenant resources only, TenantID tag and boundary immutable."},
		{Viewer, "Read-only access to the caller's own tenant."},
	}
}

// builtinEpoch is the creation time reported for built-in policies.
func builtinEpoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// IsBuiltinARN reports whether arn names a built-in managed policy (one
// that exists or not).
func IsBuiltinARN(arn string) bool { return strings.HasPrefix(arn, BuiltinARNPrefix) }

// BuiltinPolicies returns the built-in managed policies, sorted by name.
// AttachmentCount is zero: stores fill it per account.
func BuiltinPolicies() []*Policy {
	var out []*Policy
	for _, d := range builtinDescriptions() {
		out = append(out, &Policy{
			AccountID: BuiltinAccount, Name: d[0], Path: "/tenantml/", ID: builtinID(d[0]),
			ARN: BuiltinARNPrefix + d[0], Description: d[1], DefaultVersionID: "v1",
			Builtin: true, CreatedAt: builtinEpoch(), UpdatedAt: builtinEpoch(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BuiltinPolicy returns the built-in policy with the given ARN.
func BuiltinPolicy(arn string) (*Policy, bool) {
	for _, p := range BuiltinPolicies() {
		if p.ARN == arn {
			return p, true
		}
	}
	return nil, false
}

// BuiltinDocument returns the policy document of a built-in policy (its
// only version, v1).
func BuiltinDocument(arn string) (string, bool) {
	if _, ok := BuiltinPolicy(arn); !ok {
		return "", false
	}
	b, err := builtinFS.ReadFile("builtin/" + strings.TrimPrefix(arn, BuiltinARNPrefix) + ".json")
	if err != nil {
		return "", false
	}
	return string(b), true
}

// builtinID derives a stable ANPA-style ID from the name, so that it is the
// same in every process.
func builtinID(name string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	b := make([]byte, 16)
	for i := range b {
		b[i] = alphabet[h%32]
		h = h/32 ^ uint64(i)*0x9e3779b97f4a7c15
	}
	return PrefixPolicy + string(b)
}
