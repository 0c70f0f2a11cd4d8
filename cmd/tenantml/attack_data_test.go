package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/api/manage"
)

// Attacks on tenant data: KMS keys, artifacts and the audit trail.

// testF09KMSAuthorizationContext is finding 9 with the AWS CLI and boto3:
// acme's administrator uses and creates its tenant's keys as the built-in
// policies say (the onboarding key is tagged TenantID=acme), cannot create
// a key for another tenant or untagged, cannot retag or untag a key's
// tenant, and another tenant's key by ID, ARN, alias or alias ARN answers
// exactly as a missing one.
func testF09KMSAuthorizationContext(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	adm := acme.users["admin"]
	out, err := awsCLI(t, e.ts, adm.keyID, adm.secret, "", "kms", "encrypt", "--key-id", "alias/tenantml/artifacts", "--plaintext", "aGVsbG8=")
	if err != nil || !strings.Contains(out, acme.onboardingKeyARN) {
		t.Fatalf("aws kms encrypt with the onboarding key: %v\n%s", err, out)
	}
	out, err = awsCLI(t, e.ts, adm.keyID, adm.secret, "", "kms", "create-key", "--description", "acme second key", "--tags", "TagKey=TenantID,TagValue=acme")
	if err != nil {
		t.Fatalf("aws kms create-key: %v\n%s", err, out)
	}
	tagsOf := toJSON(e.mustPy(t, adm, "kms", "list_resource_tags", map[string]any{"KeyId": acme.onboardingKeyARN}))
	if !strings.Contains(tagsOf, `"TagKey": "TenantID"`) || !strings.Contains(tagsOf, `"TagValue": "acme"`) {
		t.Errorf("the onboarding key's tags: %s", tagsOf)
	}
	for _, by := range []*principal{adm, acme.session} {
		for _, st := range []struct {
			name, op string
			params   map[string]any
		}{
			{"CreateKeyForGlobex", "create_key", map[string]any{"Tags": []map[string]string{{"TagKey": "TenantID", "TagValue": "globex"}}}},
			{"CreateKeyForGlobexLowerCase", "create_key", map[string]any{"Tags": []map[string]string{{"TagKey": "tenantid", "TagValue": "globex"}}}},
			{"RetagOnboardingKey", "tag_resource", map[string]any{"KeyId": acme.onboardingKeyARN, "Tags": []map[string]string{{"TagKey": "TenantID", "TagValue": "globex"}}}},
			{"UntagOnboardingKey", "untag_resource", map[string]any{"KeyId": acme.onboardingKeyARN, "TagKeys": []string{"TenantID"}}},
			{"UntagOnboardingKeyUpperCase", "untag_resource", map[string]any{"KeyId": acme.onboardingKeyARN, "TagKeys": []string{"TENANTID"}}},
		} {
			res := e.py(t, by, "kms", st.op, st.params)
			if res.OK || res.Status >= 500 {
				t.Errorf("%s as %s: %s %s %v", st.name, by.kind, res.Code, res.Message, res.Result)
			}
		}
	}
	wantRefused(t, "CreateKey untagged (TenantAdmin needs aws:RequestTag/TenantID)", e.py(t, adm, "kms", "create_key", map[string]any{}), "AccessDeniedException")
	wantRefused(t, "Encrypt as the data scientist (no kms:*)", e.py(t, acme.users["scientist"], "kms", "encrypt",
		map[string]any{"KeyId": acme.keyARN, "Plaintext": "aGk="}, "Plaintext"), "AccessDeniedException")
	e.mustPy(t, acme.users["viewer"], "kms", "describe_key", map[string]any{"KeyId": acme.alias})
	wantRefused(t, "Encrypt as the viewer", e.py(t, acme.users["viewer"], "kms", "encrypt",
		map[string]any{"KeyId": acme.keyARN, "Plaintext": "aGk="}, "Plaintext"), "AccessDeniedException")
	keys := toJSON(e.mustPy(t, adm, "kms", "list_keys", map[string]any{}))
	if strings.Contains(keys, globex.keyID) || !strings.Contains(keys, acme.keyID) {
		t.Errorf("list_keys as acme: %s", keys)
	}
	missingID := "00000000-1111-4222-8333-444444444444"
	for _, c := range []struct{ other, missing string }{
		{globex.keyID, missingID},
		{globex.keyARN, "arn:aws:kms:us-east-1:" + e.acct + ":key/" + missingID},
		{globex.alias, "alias/globex-nothing"},
		{"arn:aws:kms:us-east-1:" + e.acct + ":" + globex.alias, "arn:aws:kms:us-east-1:" + e.acct + ":alias/globex-nothing"},
		{globex.onboardingKeyARN, "arn:aws:kms:us-east-1:" + e.acct + ":key/" + missingID},
	} {
		for _, op := range []string{"describe_key", "get_key_policy", "disable_key", "schedule_key_deletion"} {
			in := func(k string) map[string]any {
				m := map[string]any{"KeyId": k}
				if op == "get_key_policy" {
					m["PolicyName"] = "default"
				}
				return m
			}
			sameRefusal(t, op+" "+c.other, e.py(t, adm, "kms", op, in(c.other)), e.py(t, adm, "kms", op, in(c.missing)), []string{c.other}, []string{c.missing})
		}
	}
	dec := e.py(t, adm, "kms", "decrypt", map[string]any{"CiphertextBlob": globex.ciphertext}, "CiphertextBlob")
	wantRefused(t, "Decrypt globex's ciphertext", dec, "NotFoundException")
}

// testRefusedArtifacts: every artifact operation on globex's artifact, by
// acme's administrator and broker session, answers as for a tenant that
// does not exist, and globex's artifact is untouched.
func testRefusedArtifacts(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	for _, by := range []*principal{acme.users["admin"], acme.session} {
		for _, c := range []struct {
			method, suffix string
			body           []byte
		}{
			{http.MethodGet, "/artifacts/" + globex.artifact, nil},
			{http.MethodHead, "/artifacts/" + globex.artifact, nil},
			{http.MethodPut, "/artifacts/" + globex.artifact, []byte("poisoned model")},
			{http.MethodDelete, "/artifacts/" + globex.artifact, nil},
			{http.MethodPost, "/artifacts/" + globex.artifact + "/presign", []byte(`{"method":"GET","expiresIn":60}`)},
			{http.MethodGet, "/artifacts", nil},
			{http.MethodGet, "/keys", nil},
			{http.MethodPost, "/keys/rotate", nil},
			{http.MethodPost, "/erase", []byte(`{}`)},
			{http.MethodPost, "/suspend", nil},
		} {
			got := send(t, e.ts, by, manageRequest(c.method, "/api/v1/tenants/globex"+c.suffix, c.body))
			want := send(t, e.ts, by, manageRequest(c.method, "/api/v1/tenants/nobody1"+c.suffix, c.body))
			a := strings.ReplaceAll(strings.ReplaceAll(string(got.body), got.requestID, "<id>"), "globex", "<t>")
			b := strings.ReplaceAll(strings.ReplaceAll(string(want.body), want.requestID, "<id>"), "nobody1", "<t>")
			if got.status < 400 || got.status != want.status || a != b {
				t.Errorf("%s %s as %s:\n %d %s\n %d %s", c.method, c.suffix, by.kind, got.status, a, want.status, b)
			}
		}
	}
	r := send(t, e.ts, globex.users["admin"], manageRequest(http.MethodGet, "/api/v1/tenants/globex/artifacts/"+globex.artifact, nil))
	if string(r.body) != "model bytes of globex" {
		t.Errorf("globex's artifact: %d %q", r.status, r.body)
	}
}

// testRefusedAuditScoping: acme's principals read only acme's trail —
// lookups, filters naming globex's principal or tenant, the export and
// inclusion proofs of globex's events answer as for nothing.
func testRefusedAuditScoping(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	v := acme.users["viewer"]
	lookup := func(by *principal, query string) manage.LookupEventsOutput {
		t.Helper()
		r := send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/audit/events?limit=1000"+query, nil))
		if r.status != http.StatusOK {
			t.Fatalf("lookup %s: %d %s", query, r.status, firstLine(string(r.body)))
		}
		var out manage.LookupEventsOutput
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatalf("lookup: %v", err)
		}
		return out
	}
	own := lookup(v, "")
	if len(own.Events) == 0 {
		t.Fatal("acme's viewer reads no event of its own trail")
	}
	for _, ev := range own.Events {
		if ev.TenantID != "acme" || ev.CrossTenant {
			t.Fatalf("acme's trail holds an event of tenant %q (crossTenant %v)", ev.TenantID, ev.CrossTenant)
		}
	}
	for _, q := range []string{"&tenant=globex", "&tenant=GLOBEX", "&tenant=", "&principal=" + globex.users["admin"].arn, "&tenant=globex&principal=" + globex.users["admin"].arn} {
		for _, ev := range lookup(v, q).Events {
			if ev.TenantID != "acme" {
				t.Errorf("lookup%s: an event of tenant %q", q, ev.TenantID)
			}
		}
	}
	r := send(t, e.ts, acme.session, manageRequest(http.MethodGet, "/api/v1/audit/export?tenant=globex", nil))
	if r.status != http.StatusOK || strings.Contains(string(r.body), "globex") {
		t.Errorf("export ?tenant=globex: %d %s", r.status, firstLine(string(r.body)))
	}
	g := lookup(globex.users["viewer"], "&limit=1")
	if len(g.Events) == 0 {
		t.Fatal("globex has no event")
	}
	for _, by := range []*principal{v, acme.session} {
		proof := func(id string) reply {
			return send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/audit/proofs/inclusion?eventId="+id, nil))
		}
		got, want := proof(g.Events[0].EventID), proof("0b4f7e2a-9c1d-4e3f-8a5b-6c7d8e9f0a1b")
		got.body = []byte(strings.ReplaceAll(string(got.body), g.Events[0].EventID, "<id>"))
		want.body = []byte(strings.ReplaceAll(string(want.body), "0b4f7e2a-9c1d-4e3f-8a5b-6c7d8e9f0a1b", "<id>"))
		a := strings.ReplaceAll(string(got.body), got.requestID, "<id>")
		b := strings.ReplaceAll(string(want.body), want.requestID, "<id>")
		if got.status < 400 || got.status != want.status || a != b {
			t.Errorf("inclusion proof of globex's event as %s:\n %d %s\n %d %s", by.kind, got.status, a, want.status, b)
		}
	}
}
