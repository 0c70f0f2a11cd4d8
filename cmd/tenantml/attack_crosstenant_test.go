package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tenantml/tenantml/audit"
)

// The cross-tenant suite: every operation the server exposes (its route
// patterns and the operations of the AWS router) has request templates
// here, and the suite fails when an operation has none (a new operation
// must say how it is attacked) or a template names an operation that no
// longer exists. Each template is sent by each of acme's principal kinds
// against globex's resource (or a platform resource) and against a missing
// resource of the same shape, with names drawn from a logged seed; the two
// answers must be refusals, identical once the names and request IDs are
// replaced, with identical caller-side audit events in acme's trail, and
// the attempt on globex's resource must leave one operator-only
// CrossTenantAccessAttempt event.

// crossKind is how a template's answers are judged.
type crossKind int

const (
	// crossResource: the request names one resource; both answers are
	// refusals (4xx) and identical.
	crossResource crossKind = iota
	// crossScoped: a read scoped to the caller's tenant (the audit trail)
	// naming another tenant; both answers are identical (an empty read
	// is an answer, not a refusal).
	crossScoped
	// crossList: a listing; the answer names nothing of another tenant.
	crossList
)

// crossTarget names one side's resources: globex's (and the platform's),
// or missing ones of the same shape.
type crossTarget struct {
	tenant                   string
	user, userARN            string
	role, roleARN            string
	policy, policyARN        string
	accessKey                string
	keyID, keyARN, alias     string
	ciphertext               string
	group                    string
	oidcURL, oidcARN         string
	seq, eventID             string
	ownUser, ownRole, ownKey string // acme's own, the same on both sides
	// The model registry (attack_registry_test.go): globex's group, its
	// package (ARN and "<group>/1") and the platform's; acme's own group
	// and an object of acme's (the same on both sides).
	regGroup, regGroupARN, regPkgARN, regPkgName string
	platRegGroup, platRegPkgARN                  string
	ownRegGroup, ownObject                       string
	ownCiphertext                                string
	ownAlias                                     string
	// SageMaker (attack_crossserving_test.go): globex's model, endpoint
	// config, endpoint and execution role; the TargetModel of globex's
	// artifact in the platform's pool; the platform's model, config,
	// endpoint and execution role; acme's own (the same on both sides).
	model, modelARN, config, configARN, endpoint, endpointARN, execRole string
	poolModel                                                           string
	platModel, platModelARN, platConfig, platConfigARN                  string
	platEndpoint, platEndpointARN, platRole                             string
	ownModel, ownConfig, ownEndpoint, ownExecRole, pool                 string
	// Alarms (attack_bluegreen_test.go): globex's alarm and acme's own.
	alarm, alarmARN, ownAlarm string
	// S3 (attack_s3_test.go): globex's bucket, its object and upload in
	// the platform bucket; the platform bucket, acme's bucket and object
	// and the upload's key (the same on both sides).
	bucket, objKey, upload                      string
	platBucket, ownBucket, ownObjKey, uploadKey string
	// Promotion pipelines (attack_pipelines_test.go): globex's pipeline
	// and its run awaiting approval.
	pipeline, pipelineRun string
}

// names are the target's names in a fixed order: the same index names
// the same role on both sides, so that replacing each by its index makes
// the two answers comparable.
func (x *crossTarget) names() []string {
	// seq, a short number, is left out: it would match inside other
	// numbers; no answer names it.
	return append([]string{x.userARN, x.roleARN, x.policyARN, x.oidcARN, x.keyARN, x.ciphertext, x.oidcURL, x.alias, x.keyID,
		x.accessKey, x.user, x.role, x.policy, x.group, x.tenant, x.eventID}, append(append(x.servingNames(), x.registryNames()...), append(x.s3Names(), x.pipelineNames()...)...)...)
}

// crossCase is one request template.
type crossCase struct {
	// op is the operation it covers: an AWS router operation
	// ("GetUser", "TrentService.Encrypt") or a route pattern.
	op string
	// variant tells several templates of one operation apart.
	variant string
	kind    crossKind
	// platform marks templates whose other side is a platform resource
	// (a group, the built-in policies): no operator event is expected.
	platform bool
	// operator says which operator event the attempt on globex's side
	// leaves: "" one CrossTenantAccessAttempt naming globex (the request's
	// target is globex's); opRelated one naming the caller (the target is
	// acme's, a resource it names besides is globex's); otherwise the
	// reason why none is expected.
	operator string
	build    func(x *crossTarget) signedRequest
}

// opRelated marks templates whose globex resource is not the target.
const opRelated = "related"

// Reasons why an attempt leaves no operator event.
const (
	opKMS       = "KMS resolves a key only within the caller's tenant: another tenant's key is never looked up, so nothing attributes the attempt"
	opNamespace = "refused by the tenant rules of creation (name space, TenantID tag, platform entities) before any entity is looked up"
	opScoped    = "audit reads are scoped to the caller's tenant: another tenant's events are never looked up"
	opNotNamed  = "names no entity of another tenant as such (a key ID or a policy to detach from the caller's own principal)"
)

func (c crossCase) name() string {
	n := strings.NewReplacer(" ", "_", "/", "_", "{", "", "}", "", "$", "").Replace(c.op)
	if c.variant != "" {
		n += "/" + c.variant
	}
	return n
}

// crossAllowlist are the operations without a tenant resource to attack,
// with the reason; each is still enumerated (and must still exist).
var crossAllowlist = map[string]string{
	"GET /healthz":                         "liveness: no resource, no tenant data",
	"GET /readyz":                          "readiness: no resource, no tenant data",
	"GET /metrics":                         "route-pattern metrics only (checked by F10_SideChannels: no tenant name in them)",
	"GET /{$}":                             "the AWS router: its operations are enumerated by AWSRouter.Operations",
	"POST /{$}":                            "the AWS router: its operations are enumerated by AWSRouter.Operations",
	"GetCallerIdentity":                    "names no resource: answers the caller's own identity",
	"SimulateCustomPolicy":                 "evaluates only the policies in the request; reads no stored resource",
	"AssumeRoleWithWebIdentity":            "the caller is a federated identity, not a principal of acme: Chain_WebIdentityClaimCannotNameAnotherTenant",
	"GET /api/v1/audit/checkpoint":         "the platform's one Merkle tree: no tenant resource",
	"GET /api/v1/audit/proofs/consistency": "the platform's one Merkle tree: no tenant resource",
	"POST /tenant/v1/invocations":          "the caller is a bearer token's tenant, not a SigV4 principal of acme (whose requests it refuses), and nothing in the request names a resource: the token's tenant chooses endpoint and model (TestServe_TenantGateway)",
	"GET /v2":                              "Open Inference Protocol server metadata: the server's name, version and extensions, no resource",
	"GET /v2/health/live":                  "Open Inference Protocol liveness probe: no resource, no tenant data",
	"GET /v2/health/ready":                 "Open Inference Protocol readiness probe: no resource, no tenant data",
	"s3:CreateBucket":                      "bucket names are global, as on S3: a missing name is created, another tenant's answers BucketAlreadyExists naming no owner (Refused_S3/BucketNameTaken)",
}

// q is an IAM or STS query template.
func q(service, action string, params func(x *crossTarget) []string) func(*crossTarget) signedRequest {
	return func(x *crossTarget) signedRequest { return queryRequest(service, action, pairs(params(x)...)) }
}

// iamOp is a template of IAM action op.
func iamOp(op, variant string, params func(x *crossTarget) []string) crossCase {
	return crossCase{op: op, variant: variant, build: q("iam", op, params)}
}

// kmsOp is a template of KMS operation op.
func kmsOp(op, variant string, in func(x *crossTarget) map[string]any) crossCase {
	return crossCase{op: "TrentService." + op, variant: variant, operator: opKMS, build: func(x *crossTarget) signedRequest { return kmsRequest(op, in(x)) }}
}

// route is a template of a management route: the pattern and the path
// and body built from x.
func route(pattern, variant string, path func(x *crossTarget) string, body string) crossCase {
	method, _, _ := strings.Cut(pattern, " ")
	if variant == "HEAD" {
		method = http.MethodHead
	}
	return crossCase{op: pattern, variant: variant, build: func(x *crossTarget) signedRequest {
		var b []byte
		if body != "" {
			b = []byte(strings.ReplaceAll(body, "TENANT", x.tenant))
		}
		return manageRequest(method, path(x), b)
	}}
}

// tagged is params plus a TenantID tag naming the caller's tenant.
func tagged(kv ...string) []string {
	return append(kv, "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme")
}

// crossCases is the template table.
func crossCases() []crossCase {
	user := func(op string, more ...string) crossCase {
		return iamOp(op, "", func(x *crossTarget) []string { return append([]string{"UserName", x.user}, more...) })
	}
	role := func(op string, more ...string) crossCase {
		return iamOp(op, "", func(x *crossTarget) []string { return append([]string{"RoleName", x.role}, more...) })
	}
	policy := func(op string, more ...string) crossCase {
		return iamOp(op, "", func(x *crossTarget) []string { return append([]string{"PolicyArn", x.policyARN}, more...) })
	}
	keyOp := func(op string, more map[string]any) crossCase {
		return kmsOp(op, "", func(x *crossTarget) map[string]any {
			in := map[string]any{"KeyId": x.keyARN}
			for k, v := range more {
				in[k] = v
			}
			return in
		})
	}
	platform := func(c crossCase) crossCase { c.platform = true; return c }
	quiet := func(c crossCase, operator string) crossCase { c.operator = operator; return c }
	list := func(c crossCase) crossCase { c.kind = crossList; return c }
	scoped := func(c crossCase) crossCase { c.kind = crossScoped; return c }
	const (
		one      = "/api/v1/tenants/"
		artifact = "/artifacts/churn/v1/model.bin"
	)
	tenantPath := func(suffix string) func(x *crossTarget) string {
		return func(x *crossTarget) string { return one + x.tenant + suffix }
	}
	return append([]crossCase{
		// IAM users.
		user("GetUser"), user("DeleteUser"), user("ListAccessKeys"), user("ListUserTags"), user("ListUserPolicies"),
		user("ListAttachedUserPolicies"), user("DeleteUserPermissionsBoundary"), user("CreateAccessKey"),
		user("PutUserPolicy", "PolicyName", "p", "PolicyDocument", allowEverything),
		user("GetUserPolicy", "PolicyName", "p"), user("DeleteUserPolicy", "PolicyName", "p"),
		user("TagUser", "Tags.member.1.Key", "team", "Tags.member.1.Value", "x"), user("UntagUser", "TagKeys.member.1", "team"),
		user("AttachUserPolicy", "PolicyArn", viewerARN), user("DetachUserPolicy", "PolicyArn", viewerARN),
		user("PutUserPermissionsBoundary", "PermissionsBoundary", boundaryARN),
		iamOp("UpdateAccessKey", "", func(x *crossTarget) []string {
			return []string{"UserName", x.user, "AccessKeyId", x.accessKey, "Status", "Inactive"}
		}),
		iamOp("DeleteAccessKey", "", func(x *crossTarget) []string { return []string{"UserName", x.user, "AccessKeyId", x.accessKey} }),
		quiet(iamOp("UpdateAccessKey", "own-user", func(x *crossTarget) []string { return []string{"AccessKeyId", x.accessKey, "Status", "Inactive"} }), opNotNamed),
		quiet(iamOp("CreateUser", "", func(x *crossTarget) []string { return tagged("UserName", x.user) }), opNamespace),
		quiet(iamOp("CreateUser", "upper-case", func(x *crossTarget) []string { return tagged("UserName", strings.ToUpper(x.user)) }), opNamespace),
		quiet(iamOp("CreateUser", "boundary", func(x *crossTarget) []string {
			return tagged("UserName", x.ownUser+"-b", "PermissionsBoundary", x.policyARN)
		}), opRelated),
		iamOp("SimulatePrincipalPolicy", "", func(x *crossTarget) []string {
			return []string{"PolicySourceArn", x.userARN, "ActionNames.member.1", "iam:GetUser"}
		}),
		// IAM roles.
		role("GetRole"), role("DeleteRole"), role("ListRolePolicies"), role("ListAttachedRolePolicies"), role("ListRoleTags"),
		role("DeleteRolePermissionsBoundary"), role("UpdateRole", "Description", "x"),
		role("UpdateAssumeRolePolicy", "PolicyDocument", trustPrincipal("arn:aws:iam::000000000000:root")),
		role("PutRolePolicy", "PolicyName", "p", "PolicyDocument", allowEverything),
		role("GetRolePolicy", "PolicyName", "p"), role("DeleteRolePolicy", "PolicyName", "p"),
		role("AttachRolePolicy", "PolicyArn", viewerARN), role("DetachRolePolicy", "PolicyArn", viewerARN),
		role("PutRolePermissionsBoundary", "PermissionsBoundary", boundaryARN),
		role("TagRole", "Tags.member.1.Key", "team", "Tags.member.1.Value", "x"), role("UntagRole", "TagKeys.member.1", "team"),
		quiet(iamOp("CreateRole", "", func(x *crossTarget) []string {
			return tagged("RoleName", x.role, "AssumeRolePolicyDocument", trustPrincipal("arn:aws:iam::000000000000:root"))
		}), opNamespace),
		quiet(iamOp("CreateRole", "boundary", func(x *crossTarget) []string {
			return tagged("RoleName", x.ownRole+"-b", "AssumeRolePolicyDocument", trustPrincipal("arn:aws:iam::000000000000:root"), "PermissionsBoundary", x.policyARN)
		}), opRelated),
		{op: "AssumeRole", build: q("sts", "AssumeRole", func(x *crossTarget) []string {
			return []string{"RoleArn", x.roleARN, "RoleSessionName", "attack"}
		})},
		{op: "AssumeRole", variant: "tagged", build: q("sts", "AssumeRole", func(x *crossTarget) []string {
			return []string{"RoleArn", x.roleARN, "RoleSessionName", "attack", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme"}
		})},
		// IAM managed policies, as the target and as the policy a request
		// attaches or sets as a boundary.
		policy("GetPolicy"), policy("DeletePolicy"), policy("ListPolicyVersions"),
		policy("CreatePolicyVersion", "PolicyDocument", allowEverything),
		policy("GetPolicyVersion", "VersionId", "v1"), policy("DeletePolicyVersion", "VersionId", "v1"),
		policy("SetDefaultPolicyVersion", "VersionId", "v1"),
		quiet(iamOp("AttachUserPolicy", "policy", func(x *crossTarget) []string { return []string{"UserName", x.ownUser, "PolicyArn", x.policyARN} }), opRelated),
		quiet(iamOp("DetachUserPolicy", "policy", func(x *crossTarget) []string { return []string{"UserName", x.ownUser, "PolicyArn", x.policyARN} }), opNotNamed),
		quiet(iamOp("AttachRolePolicy", "policy", func(x *crossTarget) []string { return []string{"RoleName", x.ownRole, "PolicyArn", x.policyARN} }), opRelated),
		quiet(iamOp("DetachRolePolicy", "policy", func(x *crossTarget) []string { return []string{"RoleName", x.ownRole, "PolicyArn", x.policyARN} }), opNotNamed),
		quiet(iamOp("PutUserPermissionsBoundary", "policy", func(x *crossTarget) []string {
			return []string{"UserName", x.ownUser, "PermissionsBoundary", x.policyARN}
		}), opRelated),
		quiet(iamOp("PutRolePermissionsBoundary", "policy", func(x *crossTarget) []string {
			return []string{"RoleName", x.ownRole, "PermissionsBoundary", x.policyARN}
		}), opRelated),
		quiet(iamOp("CreatePolicy", "", func(x *crossTarget) []string {
			return tagged("PolicyName", x.policy, "PolicyDocument", allowEverything)
		}), opNamespace),
		// IAM groups are the platform's: the other side is the operator's
		// group, or another tenant's user or policy named with it.
		platform(iamOp("CreateGroup", "", func(x *crossTarget) []string { return []string{"GroupName", x.group} })),
		platform(iamOp("DeleteGroup", "", func(x *crossTarget) []string { return []string{"GroupName", x.group} })),
		platform(iamOp("AttachGroupPolicy", "", func(x *crossTarget) []string { return []string{"GroupName", x.group, "PolicyArn", viewerARN} })),
		platform(iamOp("DetachGroupPolicy", "", func(x *crossTarget) []string { return []string{"GroupName", x.group, "PolicyArn", viewerARN} })),
		quiet(iamOp("AttachGroupPolicy", "policy", func(x *crossTarget) []string { return []string{"GroupName", platformGroup2, "PolicyArn", x.policyARN} }), opRelated),
		quiet(iamOp("DetachGroupPolicy", "policy", func(x *crossTarget) []string { return []string{"GroupName", platformGroup2, "PolicyArn", x.policyARN} }), opRelated),
		quiet(iamOp("AddUserToGroup", "", func(x *crossTarget) []string { return []string{"GroupName", platformGroup2, "UserName", x.user} }), opRelated),
		quiet(iamOp("RemoveUserFromGroup", "", func(x *crossTarget) []string { return []string{"GroupName", platformGroup2, "UserName", x.user} }), opRelated),
		// IAM OpenID Connect providers.
		iamOp("GetOpenIDConnectProvider", "", func(x *crossTarget) []string { return []string{"OpenIDConnectProviderArn", x.oidcARN} }),
		iamOp("DeleteOpenIDConnectProvider", "", func(x *crossTarget) []string { return []string{"OpenIDConnectProviderArn", x.oidcARN} }),
		quiet(iamOp("CreateOpenIDConnectProvider", "", func(x *crossTarget) []string {
			return tagged("Url", x.oidcURL, "ClientIDList.member.1", "app", "ThumbprintList.member.1", strings.Repeat("cd", 20))
		}), opNamespace),
		// IAM listings.
		list(iamOp("ListUsers", "", func(*crossTarget) []string { return nil })),
		list(iamOp("ListRoles", "", func(*crossTarget) []string { return nil })),
		list(iamOp("ListPolicies", "", func(*crossTarget) []string { return nil })),
		list(iamOp("ListOpenIDConnectProviders", "", func(*crossTarget) []string { return nil })),

		// KMS, naming the key by ARN, ID and alias.
		keyOp("DescribeKey", nil),
		kmsOp("DescribeKey", "id", func(x *crossTarget) map[string]any { return map[string]any{"KeyId": x.keyID} }),
		kmsOp("DescribeKey", "alias", func(x *crossTarget) map[string]any { return map[string]any{"KeyId": x.alias} }),
		kmsOp("DescribeKey", "alias-arn", func(x *crossTarget) map[string]any {
			return map[string]any{"KeyId": "arn:aws:kms:us-east-1:000000000000:" + x.alias}
		}),
		keyOp("Encrypt", map[string]any{"Plaintext": "aGk="}),
		kmsOp("Encrypt", "alias", func(x *crossTarget) map[string]any { return map[string]any{"KeyId": x.alias, "Plaintext": "aGk="} }),
		keyOp("GenerateDataKey", map[string]any{"KeySpec": "AES_256"}),
		keyOp("GenerateDataKeyWithoutPlaintext", map[string]any{"KeySpec": "AES_256"}),
		keyOp("CancelKeyDeletion", nil), keyOp("DisableKey", nil), keyOp("EnableKey", nil),
		keyOp("DisableKeyRotation", nil), keyOp("EnableKeyRotation", nil), keyOp("GetKeyRotationStatus", nil),
		keyOp("RotateKeyOnDemand", nil), keyOp("ScheduleKeyDeletion", map[string]any{"PendingWindowInDays": 7}),
		keyOp("GetKeyPolicy", map[string]any{"PolicyName": "default"}),
		keyOp("PutKeyPolicy", map[string]any{"PolicyName": "default", "Policy": allowEverything}),
		keyOp("ListResourceTags", nil),
		keyOp("TagResource", map[string]any{"Tags": []map[string]string{{"TagKey": "team", "TagValue": "x"}}}),
		keyOp("UntagResource", map[string]any{"TagKeys": []string{"team"}}),
		keyOp("ListAliases", nil),
		kmsOp("Decrypt", "", func(x *crossTarget) map[string]any { return map[string]any{"CiphertextBlob": x.ciphertext} }),
		kmsOp("ReEncrypt", "", func(x *crossTarget) map[string]any {
			return map[string]any{"CiphertextBlob": x.ciphertext, "DestinationKeyId": x.ownKey}
		}),
		kmsOp("ReEncrypt", "destination", func(x *crossTarget) map[string]any {
			return map[string]any{"CiphertextBlob": x.ownCiphertext, "DestinationKeyId": x.keyARN}
		}),
		kmsOp("CreateAlias", "", func(x *crossTarget) map[string]any {
			return map[string]any{"AliasName": "alias/acme-attack", "TargetKeyId": x.keyID}
		}),
		kmsOp("UpdateAlias", "", func(x *crossTarget) map[string]any {
			return map[string]any{"AliasName": x.alias, "TargetKeyId": x.ownKey}
		}),
		kmsOp("UpdateAlias", "target", func(x *crossTarget) map[string]any {
			return map[string]any{"AliasName": x.ownAlias, "TargetKeyId": x.keyID}
		}),
		kmsOp("DeleteAlias", "", func(x *crossTarget) map[string]any { return map[string]any{"AliasName": x.alias} }),
		kmsOp("CreateKey", "", func(x *crossTarget) map[string]any {
			return map[string]any{"Tags": []map[string]string{{"TagKey": "TenantID", "TagValue": x.tenant}}}
		}),
		list(kmsOp("ListKeys", "", func(*crossTarget) map[string]any { return map[string]any{} })),
		list(kmsOp("ListAliases", "all", func(*crossTarget) map[string]any { return map[string]any{} })),

		// The management API: tenants, their keys, artifacts, audit.
		route("POST /api/v1/tenants", "", func(*crossTarget) string { return "/api/v1/tenants" }, `{"id":"TENANT"}`),
		list(route("GET /api/v1/tenants", "", func(*crossTarget) string { return "/api/v1/tenants" }, "")),
		route("GET /api/v1/tenants/{id}", "", tenantPath(""), ""),
		route("PATCH /api/v1/tenants/{id}", "", tenantPath(""), `{"tier":"premium"}`),
		route("DELETE /api/v1/tenants/{id}", "", tenantPath(""), ""),
		route("POST /api/v1/tenants/{id}/suspend", "", tenantPath("/suspend"), ""),
		route("POST /api/v1/tenants/{id}/resume", "", tenantPath("/resume"), ""),
		route("POST /api/v1/tenants/{id}/erase", "", tenantPath("/erase"), `{}`),
		route("GET /api/v1/tenants/{id}/keys", "", tenantPath("/keys"), ""),
		route("POST /api/v1/tenants/{id}/keys/rotate", "", tenantPath("/keys/rotate"), ""),
		route("GET /api/v1/tenants/{tenant}/artifacts", "", tenantPath("/artifacts"), ""),
		route("GET /api/v1/tenants/{tenant}/artifacts", "prefix", tenantPath("/artifacts?prefix=churn/"), ""),
		route("GET /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}", "", tenantPath(artifact), ""),
		route("GET /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}", "HEAD", tenantPath(artifact), ""),
		route("PUT /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}", "", tenantPath(artifact), "overwritten by TENANT"),
		route("DELETE /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}", "", tenantPath(artifact), ""),
		route("POST /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}/presign", "", tenantPath(artifact+"/presign"), `{"method":"GET"}`),
		// Accounts are the platform's: a tenant's principal is refused
		// whatever the name (attack_accounts_test.go).
		platform(route("POST /api/v1/accounts", "", func(*crossTarget) string { return "/api/v1/accounts" }, `{"name":"TENANT"}`)),
		list(route("GET /api/v1/accounts", "", func(*crossTarget) string { return "/api/v1/accounts" }, "")),
		// Tiers are the platform's (a tenant's principal is refused
		// whatever the tier); quotas are the tenant's.
		platform(route("POST /api/v1/tiers", "", func(*crossTarget) string { return "/api/v1/tiers" }, `{"name":"TENANT"}`)),
		list(route("GET /api/v1/tiers", "", func(*crossTarget) string { return "/api/v1/tiers" }, "")),
		platform(route("GET /api/v1/tiers/{name}", "", func(x *crossTarget) string { return "/api/v1/tiers/" + x.tenant }, "")),
		platform(route("PATCH /api/v1/tiers/{name}", "", func(x *crossTarget) string { return "/api/v1/tiers/" + x.tenant }, `{"endpoints":1000}`)),
		route("GET /api/v1/tenants/{id}/quotas", "", tenantPath("/quotas"), ""),
		route("PUT /api/v1/tenants/{id}/quotas", "", tenantPath("/quotas"), `{"invocationsPerSecond":1000000,"endpoints":-1}`),
		route("GET /api/v1/tenants/{id}/usage", "", tenantPath("/usage?from=2026-01-01&to=2026-01-02"), ""),
		route("GET /api/v1/tenants/{id}/usage", "csv", tenantPath("/usage?from=2026-01-01T00&to=2026-01-01T05&format=csv"), ""),
		route("GET /api/v1/tenants/{id}/usage", "badRange", tenantPath("/usage?from=2026-01-02&to=2026-01-01"), ""),
		route("GET /api/v1/tenants/{id}/metrics", "", tenantPath("/metrics"), ""),
		route("GET /api/v1/tenants/{id}/metrics", "window", tenantPath("/metrics?window=5m"), ""),
		list(route("GET /api/v1/usage", "", func(*crossTarget) string { return "/api/v1/usage?from=2026-01-01&to=2026-01-02" }, "")),
		scoped(route("GET /api/v1/audit/events", "", func(x *crossTarget) string { return "/api/v1/audit/events?tenant=" + x.tenant }, "")),
		scoped(route("GET /api/v1/audit/export", "", func(x *crossTarget) string { return "/api/v1/audit/export?tenant=" + x.tenant }, "")),
		quiet(route("GET /api/v1/audit/proofs/inclusion", "", func(x *crossTarget) string { return "/api/v1/audit/proofs/inclusion?eventId=" + x.eventID }, ""), opScoped),
		quiet(route("GET /api/v1/audit/proofs/inclusion", "seq", func(x *crossTarget) string { return "/api/v1/audit/proofs/inclusion?seq=" + x.seq }, ""), opScoped),
		quiet(route("GET /api/v1/audit/proofs/inclusion", "tenant", func(x *crossTarget) string {
			return "/api/v1/audit/proofs/inclusion?eventId=" + x.eventID + "&tenant=" + x.tenant
		}, ""), opScoped),
	}, append(append(append(servingCases(), alarmCases()...), registryCases()...), pipelineCases()...)...)
}

// crossTargets returns globex's side and a missing side of the same
// shape, its names drawn from rng.
func (e *attackEnv) crossTargets(t *testing.T, rng *rand.Rand) (other, missing *crossTarget) {
	t.Helper()
	g, a := e.tenants["globex"], e.tenants["acme"]
	own := crossTarget{ownUser: "acme.viewer", ownRole: "acme.Viewer", ownKey: a.keyARN, ownCiphertext: a.ciphertext, ownAlias: a.alias}
	page, err := e.ts.audit.Lookup(context.Background(), audit.Filter{TenantID: "globex", Limit: 1})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("a globex event: %v", err)
	}
	other = &own
	*other = own
	other.tenant = "globex"
	other.user, other.role, other.policy = "globex.viewer", "globex.TenantAdmin", "globex.invoke"
	other.userARN = "arn:aws:iam::" + e.acct + ":user" + g.path + other.user
	other.roleARN, other.policyARN = g.roles["admin"], g.policyARN
	other.accessKey = g.users["viewer"].keyID
	other.keyID, other.keyARN, other.alias, other.ciphertext = g.keyID, g.keyARN, g.alias, g.ciphertext
	other.group = platformGroup
	other.oidcURL = "https://idp.globex.example"
	other.oidcARN = "arn:aws:iam::" + e.acct + ":oidc-provider/idp.globex.example"
	other.seq = strconv.FormatInt(page.Events[0].Seq, 10)
	other.eventID = page.Events[0].EventID

	m := own
	missing = &m
	word := newWord(rng)
	missing.tenant = "t" + word(5)
	missing.user, missing.role, missing.policy = "globex.u"+word(5), "globex.r"+word(9), "globex.p"+word(5)
	missing.userARN = "arn:aws:iam::" + e.acct + ":user" + g.path + missing.user
	missing.roleARN = "arn:aws:iam::" + e.acct + ":role" + g.path + missing.role
	missing.policyARN = "arn:aws:iam::" + e.acct + ":policy" + g.path + missing.policy
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	key := []byte("AKIA")
	for range 16 {
		key = append(key, b32[rng.IntN(len(b32))])
	}
	missing.accessKey = string(key)
	u := make([]byte, 16)
	for i := range u {
		u[i] = byte(rng.IntN(256))
	}
	missing.keyID = fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	missing.keyARN = "arn:aws:kms:us-east-1:" + e.acct + ":key/" + missing.keyID
	missing.alias = "alias/globex-" + word(3)
	blob, err := base64.StdEncoding.DecodeString(g.ciphertext)
	if err != nil || len(blob) < 21 {
		t.Fatalf("globex ciphertext: %v", err)
	}
	copy(blob[1:17], u) // the same blob naming a key that does not exist
	missing.ciphertext = base64.StdEncoding.EncodeToString(blob)
	missing.group = "g" + word(11)
	missing.oidcURL = "https://idp." + word(6) + ".example"
	missing.oidcARN = "arn:aws:iam::" + e.acct + ":oidc-provider/idp." + missing.oidcURL[len("https://idp."):]
	missing.seq = strconv.FormatInt(1<<40+rng.Int64N(1<<20), 10)
	missing.eventID = fmt.Sprintf("%x-%x-%x-%x-%x", u[10:14], u[4:6], u[6:8], u[8:10], u[0:6])
	e.servingTargets(other, missing, word)
	e.alarmTargets(other, missing, word)
	e.registryTargets(other, missing, word)
	e.s3Targets(other, missing, word)
	e.pipelineTargets(other, missing, word)
	return other, missing
}

// normalize replaces x's names (longest first) and the request ID in b by
// placeholders naming their position, so that answers about different
// resources of the same shape compare equal.
func normalize(b []byte, x *crossTarget, requestID string) string {
	s := string(b)
	if requestID != "" {
		s = strings.ReplaceAll(s, requestID, "<request-id>")
	}
	names := x.names()
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return len(names[order[i]]) > len(names[order[j]]) })
	for _, i := range order {
		if names[i] != "" {
			s = strings.ReplaceAll(s, names[i], "<name"+strconv.Itoa(i)+">")
			s = strings.ReplaceAll(s, url.QueryEscape(names[i]), "<name"+strconv.Itoa(i)+">")
		}
	}
	return s
}

// crossSent is one request of the suite, kept for the audit checks.
type crossSent struct {
	c       crossCase
	by      *principal
	side    string // "other" or "missing"
	x       *crossTarget
	r       reply
	request signedRequest
}

// testCrossTenantEveryOperation is the randomized cross-tenant suite.
func testCrossTenantEveryOperation(t *testing.T, e *attackEnv) {
	seed := rand.Uint64()
	if s := strings.TrimSpace(os.Getenv("TENANTML_ATTACK_SEED")); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TENANTML_ATTACK_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("%s: seed %d (rerun with TENANTML_ATTACK_SEED=%d)", e.store, seed, seed)
	other, missing := e.crossTargets(t, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
	cases := append(append(append(crossCases(), oipCases()...), autoscaleCases()...), s3Cases()...)

	t.Run("CoversEveryOperation", func(t *testing.T) {
		covered := map[string]bool{}
		for _, c := range cases {
			covered[c.op] = true
		}
		exposed := append(append(e.ts.routes.Patterns(), e.ts.aws.Operations()...), e.ts.s3.Operations()...)
		for _, op := range exposed {
			_, allowed := crossAllowlist[op]
			switch {
			case covered[op] && allowed:
				t.Errorf("%s is both templated and allowlisted", op)
			case !covered[op] && !allowed:
				t.Errorf("operation %s has no cross-tenant template: add one to crossCases (or, if it has no tenant resource, to crossAllowlist with the reason)", op)
			}
		}
		for op := range covered {
			if !slices.Contains(exposed, op) {
				t.Errorf("template for %s, which the server no longer exposes", op)
			}
		}
		for op := range crossAllowlist {
			if !slices.Contains(exposed, op) {
				t.Errorf("allowlisted %s, which the server no longer exposes", op)
			}
		}
	})

	a := e.tenants["acme"]
	principals := []*principal{a.users["admin"], a.users["scientist"], a.users["viewer"], a.session}
	var (
		mu   sync.Mutex
		sent []crossSent
	)
	t.Run("Requests", func(t *testing.T) {
		// A bounded pool of goroutines, each running one case's subtest
		// at a time (see runConcurrently).
		work := make(chan crossCase)
		var wg sync.WaitGroup
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range work {
					t.Run(c.name(), func(t *testing.T) { sendCrossCase(t, e, c, principals, other, missing, &mu, &sent) })
				}
			}()
		}
		for _, c := range cases {
			work <- c
		}
		close(work)
		wg.Wait()
	})
	t.Run("Audit", func(t *testing.T) {
		ids := make([]string, len(sent))
		for i, s := range sent {
			ids[i] = s.r.requestID
		}
		byReq := e.eventsOf(t, ids...)
		twins := map[string]crossSent{}
		for _, s := range sent {
			if s.side == "missing" {
				twins[s.c.name()+" "+s.by.kind] = s
			}
		}
		for _, s := range sent {
			if s.side == "missing" {
				continue
			}
			desc := s.c.name() + " as " + s.by.kind
			caller, operator := splitEvents(byReq[s.r.requestID])
			if len(caller) != 1 {
				t.Errorf("%s: %d caller events, want 1", desc, len(caller))
				continue
			}
			ev := caller[0]
			if ev.TenantID != "acme" || ev.CrossTenant {
				t.Errorf("%s: caller event tenant %q crossTenant %v, want acme, false", desc, ev.TenantID, ev.CrossTenant)
			}
			if s.c.kind != crossList {
				twin := twins[s.c.name()+" "+s.by.kind]
				mc, mo := splitEvents(byReq[twin.r.requestID])
				if len(mc) != 1 {
					t.Errorf("%s (missing): %d caller events, want 1", desc, len(mc))
					continue
				}
				if a, b := eventShape(ev, s.x), eventShape(mc[0], twin.x); a != b {
					t.Errorf("%s: the caller's events differ:\n other   %s\n missing %s", desc, a, b)
				}
				for _, op := range mo {
					if op.AdditionalEventData["resourceTenantId"] == "globex" {
						t.Errorf("%s (missing): operator event names globex", desc)
					}
				}
			}
			if s.c.kind != crossResource || s.c.platform || (s.c.operator != "" && s.c.operator != opRelated) {
				continue
			}
			if len(operator) != 1 {
				t.Errorf("%s: %d operator CrossTenantAccessAttempt events, want 1", desc, len(operator))
				continue
			}
			op := operator[0]
			if op.TenantID != "" || !op.CrossTenant || op.AdditionalEventData["callerTenantId"] != "acme" ||
				(s.c.operator == "" && op.AdditionalEventData["resourceTenantId"] != "globex") {
				t.Errorf("%s: operator event = tenant %q crossTenant %v data %v", desc, op.TenantID, op.CrossTenant, op.AdditionalEventData)
			}
		}
	})
}

// sendCrossCase sends case c as each principal against both sides and
// checks the answers; what it sent is appended to sent for the audit
// checks.
func sendCrossCase(t *testing.T, e *attackEnv, c crossCase, principals []*principal, other, missing *crossTarget, mu *sync.Mutex, sent *[]crossSent) {
	for _, by := range principals {
		sides := []struct {
			name string
			x    *crossTarget
		}{{"other", other}, {"missing", missing}}
		if c.kind == crossList {
			sides = sides[:1]
		}
		var got [2]crossSent
		for i, side := range sides {
			req := c.build(side.x)
			r := send(t, e.ts, by, req)
			got[i] = crossSent{c: c, by: by, side: side.name, x: side.x, r: r, request: req}
			if r.status >= 500 {
				t.Errorf("%s as %s (%s): %d %s", c.name(), by.kind, side.name, r.status, r.body)
			}
		}
		mu.Lock()
		*sent = append(*sent, got[:len(sides)]...)
		mu.Unlock()
		if c.kind == crossList {
			checkNothingOfOthers(t, e, c.name()+" as "+by.kind, got[0].r.body)
			continue
		}
		if c.kind == crossResource && (got[0].r.status < 400 || got[1].r.status < 400) {
			t.Errorf("%s as %s: not refused: other %d %s / missing %d %s", c.name(), by.kind,
				got[0].r.status, firstLine(string(got[0].r.body)), got[1].r.status, firstLine(string(got[1].r.body)))
		}
		o, m := normalize(got[0].r.body, other, got[0].r.requestID), normalize(got[1].r.body, missing, got[1].r.requestID)
		if got[0].r.status != got[1].r.status || o != m {
			t.Errorf("%s as %s: another tenant's resource and a missing one answer differently:\n other   %d %s\n missing %d %s",
				c.name(), by.kind, got[0].r.status, o, got[1].r.status, m)
		}
	}
}

// checkNothingOfOthers fails when body names anything of globex or
// initech.
func checkNothingOfOthers(t *testing.T, e *attackEnv, desc string, body []byte) {
	t.Helper()
	s := string(body)
	for _, id := range []string{"globex", "initech"} {
		f := e.tenants[id]
		for _, leak := range []string{id, f.keyID, f.onboardingKeyARN, f.users["admin"].keyID} {
			if leak != "" && strings.Contains(s, leak) {
				t.Errorf("%s: the answer names %q of tenant %s: %s", desc, leak, id, firstLine(s))
			}
		}
	}
}

// splitEvents separates a request's events into the caller's and the
// operator's CrossTenantAccessAttempt events.
func splitEvents(evs []audit.Event) (caller, operator []audit.Event) {
	for _, ev := range evs {
		if ev.EventName == "CrossTenantAccessAttempt" {
			operator = append(operator, ev)
		} else {
			caller = append(caller, ev)
		}
	}
	return caller, operator
}

// eventShape is what a caller can read of its event, with x's names
// replaced: equal shapes mean the trail does not tell the two requests
// apart.
func eventShape(ev audit.Event, x *crossTarget) string {
	b, _ := json.Marshal(struct {
		Source, Name, Tenant, Type, Effect, ErrorCode string
		Statement                                     *audit.Statement
		Resources                                     []audit.Resource
		Parameters                                    map[string]any
		ReadOnly, Management, CrossTenant             bool
	}{ev.EventSource, ev.EventName, ev.TenantID, ev.UserIdentity.Type, string(ev.Decision.Effect), ev.ErrorCode,
		ev.Decision.Statement, ev.Resources, ev.RequestParameters, ev.ReadOnly, ev.ManagementEvent, ev.CrossTenant})
	return normalize(b, x, ev.RequestID)
}
