package main

import (
	"strings"
	"testing"
)

// Attacks on IAM with boto3 as acme's administrator (who has full control
// of acme's IAM) and as acme's broker session (whose platform role allows
// everything): another tenant's and the platform's entities, the boundary,
// the TenantID tag, names.

// testF03ForeignManagedPolicy is finding 3: acme's administrator attached
// globex's customer-managed policy to an acme user. Now another tenant's
// policy, and a customer-managed policy of the platform, answer exactly as
// a missing one whatever they are attached as, globex can still delete
// its own, and PlatformAdministrator can be given to no tenant principal,
// not even by the operator.
func testF03ForeignManagedPolicy(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	adm, gadm := acme.users["admin"], globex.users["admin"]
	shared := "arn:aws:iam::" + e.acct + ":policy/globex.shared"
	e.mustPy(t, gadm, "iam", "create_policy", map[string]any{"PolicyName": "globex.shared", "PolicyDocument": allowEverything, "Tags": tags("TenantID", "globex")})
	e.mustIAM(t, e.root, "CreatePolicy", "PolicyName", "platform.shared", "PolicyDocument", allowEverything)
	platform := "arn:aws:iam::" + e.acct + ":policy/platform.shared"
	missing := "arn:aws:iam::" + e.acct + ":policy/globex.nothing"
	for _, by := range []*principal{adm, acme.session} {
		for _, arn := range []string{shared, platform} {
			for _, op := range []struct{ name, param, entity, value string }{
				{"attach_user_policy", "PolicyArn", "UserName", "acme.scientist"},
				{"attach_role_policy", "PolicyArn", "RoleName", "acme.DataScientist"},
				{"put_user_permissions_boundary", "PermissionsBoundary", "UserName", "acme.scientist"},
				{"put_role_permissions_boundary", "PermissionsBoundary", "RoleName", "acme.DataScientist"},
				{"get_policy", "PolicyArn", "", ""},
				{"list_policy_versions", "PolicyArn", "", ""},
				{"create_policy_version", "PolicyArn", "PolicyDocument", allowEverything},
			} {
				in := func(a string) map[string]any {
					m := map[string]any{op.param: a}
					if op.entity != "" {
						m[op.entity] = op.value
					}
					return m
				}
				got := e.py(t, by, "iam", op.name, in(arn))
				want := e.py(t, by, "iam", op.name, in(missing))
				sameRefusal(t, by.kind+" "+op.name+" "+arn, got, want, []string{arn}, []string{missing})
			}
		}
	}
	// Nothing was attached: globex deletes its policy without a conflict.
	e.mustPy(t, gadm, "iam", "delete_policy", map[string]any{"PolicyArn": shared})
	// The operator may give the platform's shared policy to a tenant
	// principal; nobody may give it PlatformAdministrator.
	granted := e.newTenantUser(t, "acme", "acme.granted", "")
	e.mustIAM(t, e.root, "AttachUserPolicy", "UserName", granted.userName, "PolicyArn", platform)
	for _, by := range []*principal{e.root, adm, acme.session} {
		for _, op := range []map[string]any{
			{"op": "attach_user_policy", "UserName": "acme.scientist", "PolicyArn": platformAdminARN},
			{"op": "attach_role_policy", "RoleName": "acme.DataScientist", "PolicyArn": platformAdminARN},
			{"op": "put_user_permissions_boundary", "UserName": "acme.scientist", "PermissionsBoundary": platformAdminARN},
		} {
			name := op["op"].(string)
			delete(op, "op")
			wantRefused(t, by.kind+" "+name+" PlatformAdministrator", e.py(t, by, "iam", name, op), "InvalidInput", "AccessDenied")
		}
	}
}

// testF04NoExistenceOracles is finding 4 with boto3: the reads the issue
// names, and names that collide with another tenant's (any case, any
// encoding), answer exactly as for names nobody has.
func testF04NoExistenceOracles(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	for _, by := range []*principal{acme.users["admin"], acme.users["viewer"], acme.session} {
		for _, c := range []struct {
			op, param, other, missing string
		}{
			{"get_user", "UserName", "globex.admin", "globex.adminx"},
			{"list_access_keys", "UserName", "globex.admin", "globex.adminx"},
			{"list_user_tags", "UserName", "globex.viewer", "globex.viewerx"},
			{"get_role", "RoleName", "globex.TenantAdmin", "globex.TenantAdminx"},
			{"list_attached_role_policies", "RoleName", "globex.Viewer", "globex.Viewerx"},
			{"get_policy", "PolicyArn", globex.policyARN, globex.policyARN + "x"},
			{"get_open_id_connect_provider", "OpenIDConnectProviderArn", "arn:aws:iam::" + e.acct + ":oidc-provider/idp.globex.example",
				"arn:aws:iam::" + e.acct + ":oidc-provider/idp.globex.examplex"},
			{"get_user", "UserName", "broker", "brokerx"},
			{"get_role", "RoleName", "pool", "poolx"},
		} {
			got := e.py(t, by, "iam", c.op, map[string]any{c.param: c.other})
			want := e.py(t, by, "iam", c.op, map[string]any{c.param: c.missing})
			sameRefusal(t, by.kind+" "+c.op+" "+c.other, got, want, []string{c.other}, []string{c.missing})
		}
	}
	// Names: another tenant's, in any case, against a free one of the
	// same shape; Unicode look-alikes and path tricks are invalid names.
	adm := acme.users["admin"]
	create := func(name string) boto3Result {
		return e.py(t, adm, "iam", "create_user", map[string]any{"UserName": name, "PermissionsBoundary": boundaryARN, "Tags": tags("TenantID", "acme")})
	}
	free := create("globex.nobody")
	for _, name := range []string{"globex.viewer", "GLOBEX.VIEWER", "Globex.Viewer", "globex.VIEWER"} {
		sameRefusal(t, "create_user "+name, create(name), free, []string{name}, []string{"globex.nobody"})
	}
	for _, name := range []string{"acme.vіewer" /* Cyrillic і */, "acme/../globex.viewer", "acme.viewer\x00", "acme.%76iewer", "acme.viewer\u200b"} {
		res := create(name)
		if res.OK {
			t.Errorf("create_user %q succeeded", name)
			continue
		}
		if res.Code == "EntityAlreadyExists" || res.Status >= 500 {
			t.Errorf("create_user %q: %s %s", name, res.Code, res.Message)
		}
	}
	wantRefused(t, "create_user acme.VIEWER (its own, another case)", create("acme.VIEWER"), "EntityAlreadyExists")
}

// testRefusedBoundaryRemoval: the TenantRoleBoundary stays on every user
// and role acme creates, and creation without it is refused.
func testRefusedBoundaryRemoval(t *testing.T, e *attackEnv) {
	adm := e.tenants["acme"].users["admin"]
	steps := []struct {
		op     string
		params map[string]any
	}{
		{"delete_user_permissions_boundary", map[string]any{"UserName": "acme.scientist"}},
		{"delete_role_permissions_boundary", map[string]any{"RoleName": "acme.DataScientist"}},
		{"put_user_permissions_boundary", map[string]any{"UserName": "acme.scientist", "PermissionsBoundary": viewerARN}},
		{"put_role_permissions_boundary", map[string]any{"RoleName": "acme.DataScientist", "PermissionsBoundary": tenantAdminARN}},
		{"create_user", map[string]any{"UserName": "acme.free", "Tags": tags("TenantID", "acme")}},
		{"create_role", map[string]any{"RoleName": "acme.free", "AssumeRolePolicyDocument": e.trustRoot(), "Tags": tags("TenantID", "acme")}},
		{"create_role", map[string]any{"RoleName": "acme.free", "AssumeRolePolicyDocument": e.trustRoot(), "Tags": tags("TenantID", "acme"),
			"PermissionsBoundary": e.tenants["acme"].policyARN}},
	}
	for _, s := range steps {
		wantRefused(t, s.op, e.py(t, adm, "iam", s.op, s.params), "AccessDenied")
	}
	res := e.mustPy(t, adm, "iam", "get_user", map[string]any{"UserName": "acme.scientist"})
	if !strings.Contains(toJSON(res), boundaryARN) {
		t.Errorf("acme.scientist lost its boundary: %s", toJSON(res))
	}
}

// testRefusedTenantRetagging: no principal — acme's administrator, its
// broker session allowed everything, the operator — adds, changes or
// removes an entity's TenantID tag, in any case of the key.
func testRefusedTenantRetagging(t *testing.T, e *attackEnv) {
	acme := e.tenants["acme"]
	for _, by := range []*principal{acme.users["admin"], acme.session, e.root} {
		for _, key := range []string{"TenantID", "tenantid", "TENANTID"} {
			wantRefused(t, by.kind+" tag_user "+key, e.py(t, by, "iam", "tag_user", map[string]any{"UserName": "acme.scientist", "Tags": tags(key, "globex")}),
				"AccessDenied", "InvalidInput")
			wantRefused(t, by.kind+" tag_role "+key, e.py(t, by, "iam", "tag_role", map[string]any{"RoleName": "acme.DataScientist", "Tags": tags(key, "globex")}),
				"AccessDenied", "InvalidInput")
			wantRefused(t, by.kind+" untag_user "+key, e.py(t, by, "iam", "untag_user", map[string]any{"UserName": "acme.scientist", "TagKeys": []string{key}}),
				"AccessDenied", "InvalidInput")
			wantRefused(t, by.kind+" untag_role "+key, e.py(t, by, "iam", "untag_role", map[string]any{"RoleName": "acme.DataScientist", "TagKeys": []string{key}}),
				"AccessDenied", "InvalidInput")
		}
	}
	res := e.mustPy(t, e.root, "iam", "list_user_tags", map[string]any{"UserName": "acme.scientist"})
	if s := toJSON(res); !strings.Contains(s, `"Value": "acme"`) || strings.Contains(s, "globex") {
		t.Errorf("acme.scientist's tags changed: %s", s)
	}
}

// testRefusedCrossTenantIAM: the takeover steps of finding 1 by acme's
// administrator directly (reads and writes of globex's IAM), with boto3.
func testRefusedCrossTenantIAM(t *testing.T, e *attackEnv) {
	adm := e.tenants["acme"].users["admin"]
	for _, s := range []struct {
		op     string
		params map[string]any
	}{
		{"get_role", map[string]any{"RoleName": "globex.TenantAdmin"}},
		{"list_access_keys", map[string]any{"UserName": "globex.admin"}},
		{"create_access_key", map[string]any{"UserName": "globex.admin"}},
		{"put_user_policy", map[string]any{"UserName": "globex.admin", "PolicyName": "p", "PolicyDocument": allowEverything}},
		{"attach_user_policy", map[string]any{"UserName": "globex.admin", "PolicyArn": tenantAdminARN}},
		{"update_assume_role_policy", map[string]any{"RoleName": "globex.TenantAdmin", "PolicyDocument": trustPrincipal(adm.arn)}},
		{"delete_user", map[string]any{"UserName": "globex.viewer"}},
		{"list_users", map[string]any{}},
		{"list_roles", map[string]any{}},
	} {
		wantRefused(t, s.op, e.py(t, adm, "iam", s.op, s.params), "AccessDenied", "NoSuchEntity")
	}
}

// testRefusedPlatformEscape: acme's broker session, whose platform role
// allows everything, cannot reach the platform's principals: no access key
// for the broker, no change to the pool role, no untagged (platform) or
// globex-tagged user, no group, no OpenID Connect provider.
func testRefusedPlatformEscape(t *testing.T, e *attackEnv) {
	s := e.tenants["acme"].session
	for _, st := range []struct {
		op     string
		params map[string]any
		codes  []string
	}{
		{"create_access_key", map[string]any{"UserName": "broker"}, []string{"NoSuchEntity"}},
		{"put_user_policy", map[string]any{"UserName": "broker", "PolicyName": "p", "PolicyDocument": allowEverything}, []string{"NoSuchEntity"}},
		{"put_role_policy", map[string]any{"RoleName": "pool", "PolicyName": "p", "PolicyDocument": allowEverything}, []string{"NoSuchEntity"}},
		{"update_assume_role_policy", map[string]any{"RoleName": "pool", "PolicyDocument": e.trustRoot()}, []string{"NoSuchEntity"}},
		{"get_user", map[string]any{"UserName": "broker"}, []string{"NoSuchEntity"}},
		{"create_user", map[string]any{"UserName": "acme.platform"}, []string{"InvalidInput"}},
		{"create_user", map[string]any{"UserName": "acme.globex", "Tags": tags("TenantID", "globex")}, []string{"InvalidInput"}},
		{"create_user", map[string]any{"UserName": "acme.globex", "Tags": tags("tenantid", "globex")}, []string{"InvalidInput"}},
		{"create_role", map[string]any{"RoleName": "acme.platform", "AssumeRolePolicyDocument": e.trustRoot()}, []string{"InvalidInput"}},
		{"create_policy", map[string]any{"PolicyName": "acme.platform", "PolicyDocument": allowEverything}, []string{"InvalidInput"}},
		{"create_group", map[string]any{"GroupName": "acme.group"}, []string{"InvalidInput"}},
		{"add_user_to_group", map[string]any{"GroupName": platformGroup, "UserName": "acme.viewer"}, []string{"NoSuchEntity"}},
		{"create_open_id_connect_provider", map[string]any{"Url": "https://idp.acme.example", "ThumbprintList": []string{strings.Repeat("ef", 20)},
			"Tags": tags("TenantID", "acme")}, []string{"InvalidInput"}},
	} {
		wantRefused(t, st.op, e.py(t, s, "iam", st.op, st.params), st.codes...)
	}
	// The session still works on its own tenant.
	e.mustPy(t, s, "iam", "create_user", map[string]any{"UserName": "acme.made-by-session", "Tags": tags("TenantID", "acme")})
	users := toJSON(e.mustPy(t, s, "iam", "list_users", map[string]any{}))
	if !strings.Contains(users, "acme.made-by-session") || strings.Contains(users, "globex") || strings.Contains(users, "broker") {
		t.Errorf("list_users as acme's session: %s", users)
	}
}
